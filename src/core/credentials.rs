//! AWS credentials: the default chain (aws-config), a named profile, static keys, or a provider
//! supplied by the binding (the JS `customCredentialsProvider` function), behind one cache.
//!
//! The cache resolves at most once at a time and reuses credentials until shortly before their
//! `expiration` (forever when they have none, as the AWS SDKs do for static keys), so opening many
//! connections never means many resolutions.

use crate::core::config::StaticCredentials;
use crate::core::error::{with_causes, Error, Result};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, OnceCell};

/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

pub enum Source {
    /// aws-config's default chain: environment, shared config and credentials files (with `profile`),
    /// SSO, web identity, ECS, IMDS.
    DefaultChain { profile: Option<String>, region: String },
    Provider(SharedCredentialsProvider),
}

pub struct CredentialCache {
    source: Source,
    provider: OnceCell<SharedCredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
}

pub fn static_credentials(c: &StaticCredentials) -> Credentials {
    Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.clone(),
        c.session_token.clone(),
        c.expiration.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
        "customCredentialsProvider",
    )
}

impl CredentialCache {
    pub fn new(source: Source) -> Self {
        CredentialCache { source, provider: OnceCell::new(), cached: Mutex::new(None) }
    }

    async fn provider(&self) -> &SharedCredentialsProvider {
        self.provider
            .get_or_init(|| async {
                match &self.source {
                    Source::Provider(p) => p.clone(),
                    Source::DefaultChain { profile, region } => {
                        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                            .region(aws_config::Region::new(region.clone()))
                            .http_client(https_client());
                        if let Some(p) = profile {
                            loader = loader.profile_name(p);
                        }
                        let sdk = loader.load().await;
                        sdk.credentials_provider().unwrap_or_else(|| SharedCredentialsProvider::new(NoCredentials))
                    }
                }
            })
            .await
    }

    /// Current credentials, resolving them only when none are cached or they are about to expire.
    pub async fn get(&self) -> Result<Credentials> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if is_fresh(c, SystemTime::now()) {
                return Ok(c.clone());
            }
        }
        // AWS credential errors and their causes carry no secrets.
        let creds = self
            .provider()
            .await
            .provide_credentials()
            .await
            .map_err(|e| Error::Credentials(format!("Could not resolve AWS credentials: {}", with_causes(&e))))?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// Forget cached credentials (e.g. after the server rejected a token made with them).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// The HTTPS client of the credential chain (STS, SSO, IMDS, ECS): what aws-config's
/// `default-https-client` builds (hyper 1, rustls, proxy settings from the environment), with
/// rustls on ring instead of aws-lc-rs so the addon carries one crypto library.
fn https_client() -> aws_types::sdk_config::SharedHttpClient {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, runtime_components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

fn is_fresh(c: &Credentials, now: SystemTime) -> bool {
    match c.expiry() {
        None => true,
        Some(exp) => exp > now + REFRESH_BEFORE_EXPIRY,
    }
}

#[derive(Debug)]
struct NoCredentials;
impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(aws_credential_types::provider::error::CredentialsError::not_loaded("no credentials provider is configured")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        expiry_in: Option<Duration>,
    }
    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let exp = self.expiry_in.map(|d| SystemTime::now() + d);
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(format!("AK{n}"), "SK", None, exp, "test")))
        }
    }

    #[tokio::test]
    async fn caches_until_expiry() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = CredentialCache::new(Source::Provider(SharedCredentialsProvider::new(Counting { calls: calls.clone(), expiry_in: Some(Duration::from_secs(3600)) })));
        for _ in 0..5 {
            assert_eq!(cache.get().await.unwrap().access_key_id(), "AK0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Credentials inside the refresh window are resolved again on every use.
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = CredentialCache::new(Source::Provider(SharedCredentialsProvider::new(Counting { calls: calls.clone(), expiry_in: Some(Duration::from_secs(30)) })));
        cache.get().await.unwrap();
        assert_eq!(cache.get().await.unwrap().access_key_id(), "AK1");
        cache.invalidate().await;
        assert_eq!(cache.get().await.unwrap().access_key_id(), "AK2");
    }

    #[tokio::test]
    async fn profile_selection_from_files() {
        let dir = std::env::temp_dir().join(format!("adp-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let creds = dir.join("credentials");
        let config = dir.join("config");
        std::fs::write(&creds, "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s1\n\n[other]\naws_access_key_id = AKOTHER\naws_secret_access_key = s2\naws_session_token = t2\n").unwrap();
        std::fs::write(&config, "[default]\nregion = us-east-1\n").unwrap();
        // The chain reads these variables; this test owns them for its duration.
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &creds);
        std::env::set_var("AWS_CONFIG_FILE", &config);
        for v in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] {
            std::env::remove_var(v);
        }
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let get = |profile: Option<&str>| {
            let cache = CredentialCache::new(Source::DefaultChain { profile: profile.map(str::to_string), region: "us-east-1".into() });
            async move { cache.get().await }
        };
        let c = get(Some("other")).await.unwrap();
        assert_eq!((c.access_key_id(), c.session_token()), ("AKOTHER", Some("t2")));
        assert_eq!(get(None).await.unwrap().access_key_id(), "AKDEFAULT");
        let err = get(Some("missing")).await.unwrap_err();
        assert!(err.to_string().contains("Could not resolve AWS credentials"), "{err}");
        assert!(!err.to_string().contains("s2"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
