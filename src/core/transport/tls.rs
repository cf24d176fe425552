//! TLS for sessions: the rustls client configuration (roots, `ssl.ca`, ALPN for direct TLS) and the
//! per-connection connector whose SNI and expected certificate name are the cluster host.

use crate::core::config::{Config, Tls};
use crate::core::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres::tls::MakeTlsConnect;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
/// The rustls client configuration for `tls`, or `None` without TLS.
pub(super) fn client_config(tls: &Tls) -> Result<Option<ClientConfig>> {
    let (verify, ca, direct) = match tls {
        Tls::Disabled => return Ok(None),
        Tls::Enabled { verify, ca, direct } => (*verify, ca, *direct),
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("TLS setup failed: {e}")))?;
    let mut config = if verify {
        let mut roots = RootCertStore::empty();
        if ca.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            for pem in ca {
                for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
                    let cert = cert
                        .map_err(|e| Error::type_error(format!("ssl.ca could not be read as PEM certificates: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| Error::type_error(format!("ssl.ca holds a certificate rustls cannot use: {e}")))?;
                }
            }
            if roots.is_empty() {
                return Err(Error::type_error("ssl.ca contains no certificates"));
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider()))).with_no_client_auth()
    };
    if direct {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Some(config))
}
/// The TLS connector for one connection: SNI and the certificate's expected name are the cluster
/// host, whatever address the socket reached.
pub(super) fn tls_for<S, M: MakeTlsConnect<S, Error = std::convert::Infallible>>(
    make: &mut M,
    cfg: &Config,
) -> M::TlsConnect {
    match make.make_tls_connect(&cfg.host) {
        Ok(t) => t,
        Err(never) => match never {},
    }
}
/// `ssl: { rejectUnauthorized: false }`: any certificate is accepted, handshake signatures are
/// still checked with the presented key.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
