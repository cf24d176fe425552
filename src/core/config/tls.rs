//! TLS: `ssl` (option or the URL's `sslmode`/`ssl`), `sslnegotiation` and the CA roots
//! (`ssl.ca`, `sslrootcert` or `PGSSLROOTCERT`).

use super::defaults::{SSL, SSLNEGOTIATION, SSLROOTCERT, SSL_DISABLED_MODE, SSL_VERIFIED_MODES};
use super::env::{first_var, Env};
use super::read::{describe, Opts};
use super::Tls;
use crate::core::error::{Error, Result};
use serde_json::Value;

/// `with_url`: the options with the URL's query parameters under them.
pub(super) fn tls(with_url: &Opts, env: &dyn Env) -> Result<Tls> {
    let direct = match with_url.string(SSLNEGOTIATION.names)?.as_deref().unwrap_or(SSLNEGOTIATION.default) {
        "postgres" => false,
        "direct" => true,
        other => {
            return Err(Error::range_error(format!("sslnegotiation must be 'postgres' or 'direct', got '{other}'")))
        }
    };
    let verified = |ca: Vec<String>| Tls::Enabled { verify: true, ca, direct };
    let roots = || root_certificates(with_url, env);
    let mode = |mode: &str| match mode {
        m if SSL_VERIFIED_MODES.contains(&m) => Ok(verified(roots()?)),
        SSL_DISABLED_MODE => Ok(Tls::Disabled),
        other => Err(Error::range_error(format!(
            "ssl must be a boolean, an object or one of 'require', 'verify-full', 'disable', got '{other}'"
        ))),
    };
    match with_url.get(SSL.names) {
        None => mode(SSL.default),
        Some((_, Value::Bool(true))) => Ok(verified(roots()?)),
        Some((_, Value::Bool(false))) => Ok(Tls::Disabled),
        Some((_, Value::String(s))) => mode(s),
        Some((_, Value::Object(m))) => {
            let verify = match m.get("rejectUnauthorized") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return Err(Error::type_error(format!(
                        "ssl.rejectUnauthorized must be a boolean, got {}",
                        describe(v)
                    )))
                }
            };
            let ca = match m.get("ca") {
                None | Some(Value::Null) => roots()?,
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            Error::type_error("ssl.ca must be a PEM string, a Buffer or an array of them")
                        })
                    })
                    .collect::<Result<_>>()?,
                Some(v) => {
                    return Err(Error::type_error(format!(
                        "ssl.ca must be a PEM string, a Buffer or an array of them, got {}",
                        describe(v)
                    )))
                }
            };
            for pem in &ca {
                if !pem.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(Error::type_error(
                        "ssl.ca must contain PEM certificates (-----BEGIN CERTIFICATE-----)",
                    ));
                }
            }
            Ok(Tls::Enabled { verify, ca, direct })
        }
        Some((n, v)) => {
            Err(Error::type_error(format!("{n} must be a boolean, an object or a string, got {}", describe(v))))
        }
    }
}

/// The CA bundle named by `sslrootcert` (option or URL parameter) or `PGSSLROOTCERT`, as libpq reads
/// them: a PEM file's path; `system` (or nothing) means the default roots.
fn root_certificates(with_url: &Opts, env: &dyn Env) -> Result<Vec<String>> {
    let path = match with_url.string(SSLROOTCERT.names)? {
        Some(p) => Some(p),
        None => first_var(env, SSLROOTCERT.env).map(|(_, v)| v),
    };
    match path.as_deref().or(SSLROOTCERT.default) {
        None | Some("") | Some("system") => Ok(vec![]),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => Ok(vec![pem]),
            Ok(_) => Err(Error::type_error(format!(
                "sslrootcert (or PGSSLROOTCERT) must name a PEM file of certificates: '{p}' holds none"
            ))),
            Err(e) => Err(Error::invalid(format!("sslrootcert (or PGSSLROOTCERT): cannot read '{p}': {e}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::env::env_of;
    use super::super::{resolve, Config, Tls};
    use serde_json::json;

    #[test]
    fn root_certificates_from_sslrootcert_or_pgsslrootcert() {
        let dir = std::env::temp_dir().join(format!("adp-rootcert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
        let junk = dir.join("junk.txt");
        std::fs::write(&junk, "not a certificate").unwrap();
        let path = pem.to_str().unwrap().to_string();
        let ca_of = |c: Config| match c.tls {
            Tls::Enabled { ca, .. } => ca,
            Tls::Disabled => panic!("TLS expected"),
        };
        let host = "c1.dsql.us-east-1.on.aws";
        let env_path: &'static str = Box::leak(path.clone().into_boxed_str());
        let env = env_of(Box::leak(Box::new([("PGSSLROOTCERT", env_path)])));
        // PGSSLROOTCERT applies to verified TLS without an explicit ca, in every form of `ssl`.
        for ssl in [json!(null), json!(true), json!("require"), json!("prefer"), json!({"rejectUnauthorized": true})] {
            let mut o = json!({"host": host});
            if !ssl.is_null() {
                o["ssl"] = ssl;
            }
            assert_eq!(ca_of(resolve(None, &o, &env).unwrap()).len(), 1);
        }
        // An explicit ca wins; `sslrootcert` (option or URL) wins over the environment; `system` means none.
        let given =
            ca_of(resolve(None, &json!({"host": host, "ssl": {"ca": "-----BEGIN CERTIFICATE-----x"}}), &env).unwrap());
        assert_eq!(given, vec!["-----BEGIN CERTIFICATE-----x".to_string()]);
        assert!(ca_of(resolve(None, &json!({"host": host, "sslrootcert": "system"}), &env).unwrap()).is_empty());
        assert_eq!(
            ca_of(resolve(Some(&format!("postgres://{host}/?sslrootcert={path}")), &json!({}), &env_of(&[])).unwrap())
                .len(),
            1
        );
        // A file that is not PEM, or is missing, is an error naming the option.
        let err =
            resolve(None, &json!({"host": host, "sslrootcert": junk.to_str().unwrap()}), &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("sslrootcert"), "{err}");
        let err =
            resolve(None, &json!({"host": host, "sslrootcert": "/nonexistent/ca.pem"}), &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("sslrootcert"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
