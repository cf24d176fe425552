//! What a connection URL (`postgres://user:password@host:port/database?name=value`) contributes.

use crate::core::error::{Error, Result};

#[derive(Default, Debug)]
pub(super) struct UrlParts {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub database: Option<String>,
    /// Query parameters in URL order.
    pub params: Vec<(String, String)>,
}

pub(super) fn parse_url(raw: &str) -> Result<UrlParts> {
    let rest = raw.strip_prefix("postgres://").or_else(|| raw.strip_prefix("postgresql://")).ok_or_else(|| {
        Error::type_error(format!("url must start with postgres:// or postgresql://, got '{}'", redact_url(raw)))
    })?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_part = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_part.contains(',') {
        return Err(Error::invalid("Multi-host connection strings are not supported for Aurora DSQL"));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| Error::type_error(format!("url is not a valid connection URL ({e}): '{}'", redact_url(raw))))?;
    let mut parts = UrlParts::default();
    if let Some(h) = url.host_str().filter(|h| !h.is_empty()) {
        parts.host = Some(h.trim_start_matches('[').trim_end_matches(']').to_string());
    }
    parts.port = url.port();
    if !url.username().is_empty() {
        parts.user = Some(pct_decode(url.username()));
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        parts.database = Some(pct_decode(path));
    }
    parts.params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    Ok(parts)
}

fn pct_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// A URL with any password removed, for error messages.
fn redact_url(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &raw[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &raw[..s + 3], user, &raw[at + 1..])
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{env::env_of, resolve};
    use serde_json::json;

    #[test]
    fn url_errors_do_not_echo_passwords() {
        let none = env_of(&[]);
        let err = resolve(Some("mysql://u:hunter2@h/db"), &json!({}), &none).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
