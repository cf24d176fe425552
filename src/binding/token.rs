//! Token generation exposed for users and tests (`generateToken`).
use super::to_napi;
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
    let expires = req.expires_in.unwrap_or(900);
    if !(1..=604_800).contains(&expires) {
        return Err(to_napi(crate::core::error::Error::range_error(format!(
            "expiresIn must be between 1 and 604800, got {expires}"
        ))));
    }
    let signer = match req.time_ms {
        Some(ms) => TokenSigner::with_time_source(
            &req.hostname,
            &req.region,
            expires as u64,
            SharedTimeSource::new(StaticTimeSource::new(UNIX_EPOCH + Duration::from_millis(ms as u64))),
        ),
        None => TokenSigner::new(&req.hostname, &req.region, expires as u64),
    };
    let creds = Credentials::new(req.access_key_id, req.secret_access_key, req.session_token, None, "generateToken");
    signer.token(creds, req.admin).await.map_err(to_napi)
}
