//! `customCredentialsProvider` as a JS function, called from Rust through a threadsafe function.
use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use std::time::{Duration, UNIX_EPOCH};

/// The JS side passes a normalized async function: `() => Promise<{ accessKeyId, secretAccessKey,
/// sessionToken?, expiration? (ms since epoch) }>`.
pub type ProviderFn = ThreadsafeFunction<(), Promise<serde_json::Value>, (), napi::Status, false, true>;

pub struct JsProvider(pub std::sync::Arc<ProviderFn>);

impl std::fmt::Debug for JsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsProvider")
    }
}

impl ProvideCredentials for JsProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let tsfn = self.0.clone();
        future::ProvideCredentials::new(async move {
            let promise = tsfn.call_async_catch(()).await.map_err(|e| {
                CredentialsError::provider_error(format!("customCredentialsProvider failed: {}", e.reason))
            })?;
            let v = promise.await.map_err(|e| {
                CredentialsError::provider_error(format!("customCredentialsProvider failed: {}", e.reason))
            })?;
            parse(&v).map_err(CredentialsError::provider_error)
        })
    }
}

fn parse(v: &serde_json::Value) -> Result<Credentials, String> {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|x| !x.is_empty()).map(str::to_string);
    let akid = s("accessKeyId")
        .ok_or("customCredentialsProvider must resolve to an object with accessKeyId and secretAccessKey strings")?;
    let secret = s("secretAccessKey")
        .ok_or("customCredentialsProvider must resolve to an object with accessKeyId and secretAccessKey strings")?;
    let expiry = v
        .get("expiration")
        .and_then(|x| x.as_f64())
        .filter(|x| x.is_finite() && *x > 0.0)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms as u64));
    Ok(Credentials::new(akid, secret, s("sessionToken"), expiry, "customCredentialsProvider"))
}
