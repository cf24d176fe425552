//! Token generation exposed for users and tests (`generateToken`).
use super::to_napi;
use crate::core::config::defaults::TOKEN_DURATION_SECS;
use crate::core::token::TokenSigner;
use aws_credential_types::Credentials;
use aws_smithy_async::time::{SharedTimeSource, StaticTimeSource};
use napi_derive::napi;
use std::time::{Duration, UNIX_EPOCH};

#[napi(object)]
pub struct TokenRequest {
    pub hostname: String,
    pub region: String,
    /// Seconds, 1..=604800 (default 900).
    pub expires_in: Option<u32>,
    pub admin: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Milliseconds since the epoch to sign at (default: now).
    pub time_ms: Option<f64>,
}

/// Signs a DSQL auth token locally with the given credentials.
#[napi]
pub async fn generate_token(req: TokenRequest) -> napi::Result<String> {
    let expires = req.expires_in.map_or(TOKEN_DURATION_SECS.default, u64::from);
    let limits = TOKEN_DURATION_SECS.limits();
    if !(limits.min..=limits.max).contains(&(expires as f64)) {
        return Err(to_napi(crate::core::error::Error::range_error(format!(
            "expiresIn must be between {} and {}, got {expires}",
            limits.min, limits.max
        ))));
    }
    let signer = match req.time_ms {
        Some(ms) => TokenSigner::with_time_source(
            &req.hostname,
            &req.region,
            expires,
            SharedTimeSource::new(StaticTimeSource::new(UNIX_EPOCH + Duration::from_millis(ms as u64))),
        ),
        None => TokenSigner::new(&req.hostname, &req.region, expires),
    };
    let creds = Credentials::new(req.access_key_id, req.secret_access_key, req.session_token, None, "generateToken");
    signer.token(creds, req.admin).await.map_err(to_napi)
}
