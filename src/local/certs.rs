//! Test certificates (rcgen) and the rustls server configuration.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use super::LocalError;

/// ALPN protocol name for PostgreSQL direct TLS.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// Generates a CA and a server certificate for `names` (DNS names or IP addresses).
/// Returns `(ca_pem, cert_pem, key_pem)`; the certificate chain is the server cert only.
pub fn generate_certificates(names: &[String]) -> Result<(String, String, String), LocalError> {
    let err = |e: rcgen::Error| LocalError::Tls(format!("certificate generation: {e}"));
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.distinguished_name.push(DnType::CommonName, "Local DSQL test CA");
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_pem = ca.self_signed(&ca_key).map_err(err)?.pem();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(names.to_vec()).map_err(err)?;
    leaf.distinguished_name.push(DnType::CommonName, names.first().map(String::as_str).unwrap_or("localhost"));
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let key = KeyPair::generate().map_err(err)?;
    let cert_pem = leaf.signed_by(&key, &issuer).map_err(err)?.pem();
    Ok((ca_pem, cert_pem, key.serialize_pem()))
}

/// rustls server config with the ring provider, ALPN `postgresql`, no client auth.
pub fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, LocalError> {
    let tls = |m: String| LocalError::Tls(m);
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| tls(format!("certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(tls("no certificate in PEM".into()));
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(|e| tls(format!("key PEM: {e}")))?
        .ok_or_else(|| tls("no private key in PEM".into()))?;
    let mut cfg = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls(e.to_string()))?;
    cfg.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(Arc::new(cfg))
}
