//! Who connects: database, user name, token lifetime, profile and static credentials.

use super::defaults::{Limits, DATABASE, PROFILE, TOKEN_DURATION_SECS, USERNAME};
use super::env::{first_var, Env};
use super::read::{describe, number_value, Opts};
use super::url::UrlParts;
use super::StaticCredentials;
use crate::core::error::{Error, Result};
use serde_json::{Map, Value};

pub(super) struct Identity {
    pub database: String,
    pub username: String,
    pub token_duration_secs: u64,
    pub profile: Option<String>,
    pub static_credentials: Option<StaticCredentials>,
}

/// `given`: the options as given (the URL gives the database and user in its path and user info).
pub(super) fn identity(given: &Opts, url: &UrlParts, env: &dyn Env) -> Result<Identity> {
    // Each: option > URL > environment > default.
    let database = given
        .string(DATABASE.names)?
        .or(url.database.clone())
        .or_else(|| first_var(env, DATABASE.env).map(|(_, v)| v))
        .unwrap_or_else(|| DATABASE.default.into());
    let username = given
        .string(USERNAME.names)?
        .or(url.user.clone())
        .or_else(|| first_var(env, USERNAME.env).map(|(_, v)| v))
        .unwrap_or_else(|| USERNAME.default.into());
    if username.is_empty() {
        return Err(Error::type_error("username must not be empty"));
    }
    let token_duration_secs = given
        .number(TOKEN_DURATION_SECS.names, TOKEN_DURATION_SECS.limits())?
        .map_or(TOKEN_DURATION_SECS.default, |x| x as u64);
    let profile = given
        .string(PROFILE.names)?
        .or_else(|| first_var(env, PROFILE.env).map(|(_, v)| v))
        .or(PROFILE.default.map(str::to_string));
    let static_credentials = static_credentials(given.0.get("customCredentialsProvider"))?;
    Ok(Identity { database, username, token_duration_secs, profile, static_credentials })
}

/// `customCredentialsProvider: { accessKeyId, secretAccessKey, sessionToken?, expiration? }` (a
/// function is called by the facade and never reaches here). Defaults to the AWS default chain.
fn static_credentials(v: Option<&Value>) -> Result<Option<StaticCredentials>> {
    let m: &Map<String, Value> = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(v) => {
            return Err(Error::type_error(format!(
            "customCredentialsProvider must be a function or an object with accessKeyId and secretAccessKey, got {}",
            describe(v)
        )))
        }
    };
    let s = |k: &str, required: bool| -> Result<Option<String>> {
        match m.get(k) {
            None | Some(Value::Null) if !required => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            _ => Err(Error::type_error(format!("customCredentialsProvider.{k} must be a non-empty string"))),
        }
    };
    let expiration = match m.get("expiration") {
        None | Some(Value::Null) => None,
        Some(v) => Some(number_value(
            "customCredentialsProvider.expiration",
            v,
            Limits { min: 0.0, max: 1e13, integer: false },
        )? as u64),
    };
    Ok(Some(StaticCredentials {
        access_key_id: s("accessKeyId", true)?.unwrap_or_default(),
        secret_access_key: s("secretAccessKey", true)?.unwrap_or_default(),
        session_token: s("sessionToken", false)?,
        expiration,
    }))
}
