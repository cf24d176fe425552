//! AWS credentials: the default chain (aws-config), a named profile, static keys, or a provider
//! supplied by the binding (the JS `customCredentialsProvider` function), behind one cache.
//!
//! The cache resolves at most once at a time and reuses credentials until shortly before their
//! `expiration` (forever when they have none, as the AWS SDKs do for static keys), so opening many
//! connections never means many resolutions.

use crate::core::config::{Env, EnvOverlay, StaticCredentials};
use crate::core::error::{with_causes, Error, Result};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, OnceCell};

/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

pub enum Source {
    /// aws-config's default chain: environment, shared config and credentials files (with `profile`),
    /// SSO, web identity, ECS, IMDS. The chain reads its variables through `env` (the JS runtime's
    /// values over the process environment).
    DefaultChain {
        profile: Option<String>,
        region: String,
        env: EnvOverlay,
    },
    Provider(SharedCredentialsProvider),
}

pub struct CredentialCache {
    source: Source,
    provider: OnceCell<SharedCredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
    /// Calls of the provider (or chain), successful or not (`sql.stats().credentialResolutions`).
    resolutions: AtomicU64,
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
        CredentialCache { source, provider: OnceCell::new(), cached: Mutex::new(None), resolutions: AtomicU64::new(0) }
    }

    async fn provider(&self) -> &SharedCredentialsProvider {
        self.provider
            .get_or_init(|| async {
                match &self.source {
                    Source::Provider(p) => p.clone(),
                    Source::DefaultChain { profile, region, env } => {
                        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                            .region(aws_config::Region::new(region.clone()))
                            .http_client(https_client(env));
                        if let Some(p) = profile {
                            loader = loader.profile_name(p);
                        }
                        if !env.is_empty() {
                            // aws-config's own hook for the environment it reads (behind its
                            // `test-util` feature, which adds no dependency this crate lacks).
                            loader = loader.env(aws_types::os_shim_internal::Env::from(env.merged()));
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
        self.get_traced().await.map(|(c, _)| c)
    }

    /// As [`get`](Self::get), and whether the provider was called for them (`false`: from the cache).
    pub async fn get_traced(&self) -> Result<(Credentials, bool)> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if is_fresh(c, SystemTime::now()) {
                return Ok((c.clone(), false));
            }
        }
        self.resolutions.fetch_add(1, Ordering::Relaxed);
        // AWS credential errors and their causes carry no secrets.
        let creds = self
            .provider()
            .await
            .provide_credentials()
            .await
            .map_err(|e| Error::Credentials(format!("Could not resolve AWS credentials: {}", with_causes(&e))))?;
        *cached = Some(creds.clone());
        Ok((creds, true))
    }

    /// How many times the provider (or chain) was called, successfully or not.
    pub fn resolutions(&self) -> u64 {
        self.resolutions.load(Ordering::Relaxed)
    }

    /// Forget cached credentials (e.g. after the server rejected a token made with them).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// The HTTPS client of the credential chain (STS, SSO, IMDS, ECS): what aws-config's
/// `default-https-client` builds (hyper 1, rustls, proxy settings from the environment), with
/// rustls on ring instead of aws-lc-rs so the addon carries one crypto library. Proxy variables the
/// facade passed (`env`) are applied here; without them the client reads the process environment.
fn https_client(env: &EnvOverlay) -> aws_types::sdk_config::SharedHttpClient {
    use aws_smithy_http_client::{tls, Builder, ConnectorBuilder};
    let proxy = proxy_config(env);
    Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut conn =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(proxy.clone()));
        conn.build()
    })
}

const PROXY_VARIABLES: [&str; 8] =
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"];

/// The credential chain's proxy: HTTPS_PROXY (HTTPS requests: STS, SSO) or else ALL_PROXY (every
/// request), with NO_PROXY's exceptions, read through `env` when the facade passed any proxy variable
/// (otherwise the HTTP client reads the process environment itself). A proxy URL the HTTP client
/// cannot parse means no proxy for the chain.
fn proxy_config(env: &EnvOverlay) -> aws_smithy_http_client::proxy::ProxyConfig {
    use aws_smithy_http_client::proxy::ProxyConfig;
    if !PROXY_VARIABLES.iter().any(|n| env.has(n)) {
        return ProxyConfig::from_env();
    }
    let first = |names: [&str; 2]| names.iter().find_map(|n| env.var(n));
    let no_proxy = first(["NO_PROXY", "no_proxy"]);
    let config = match (first(["HTTPS_PROXY", "https_proxy"]), first(["ALL_PROXY", "all_proxy"])) {
        (Some(url), _) => ProxyConfig::https(url),
        (None, Some(url)) => ProxyConfig::all(url),
        (None, None) => return ProxyConfig::disabled(),
    };
    match config {
        Ok(c) => match no_proxy {
            Some(rules) => c.no_proxy(rules),
            None => c,
        },
        Err(_) => ProxyConfig::disabled(),
    }
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
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials provider is configured",
            ),
        ))
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
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AK{n}"),
                "SK",
                None,
                exp,
                "test",
            )))
        }
    }

    #[tokio::test]
    async fn caches_until_expiry() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = CredentialCache::new(Source::Provider(SharedCredentialsProvider::new(Counting {
            calls: calls.clone(),
            expiry_in: Some(Duration::from_secs(3600)),
        })));
        let (first, resolved) = cache.get_traced().await.unwrap();
        assert_eq!((first.access_key_id(), resolved), ("AK0", true));
        for _ in 0..5 {
            let (c, resolved) = cache.get_traced().await.unwrap();
            assert_eq!((c.access_key_id(), resolved), ("AK0", false), "from the cache");
        }
        assert_eq!((calls.load(Ordering::SeqCst), cache.resolutions()), (1, 1));
        // Credentials inside the refresh window are resolved again on every use.
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = CredentialCache::new(Source::Provider(SharedCredentialsProvider::new(Counting {
            calls: calls.clone(),
            expiry_in: Some(Duration::from_secs(30)),
        })));
        cache.get().await.unwrap();
        assert_eq!(cache.get().await.unwrap().access_key_id(), "AK1");
        cache.invalidate().await;
        assert_eq!(cache.get().await.unwrap().access_key_id(), "AK2");
        assert_eq!(cache.resolutions(), 3);
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
            let cache = CredentialCache::new(Source::DefaultChain {
                profile: profile.map(str::to_string),
                region: "us-east-1".into(),
                env: EnvOverlay::default(),
            });
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

    #[tokio::test]
    async fn the_chain_reads_the_overlay_before_the_process_environment() {
        // Variables only the JS runtime holds (Bun's process.env): the chain's environment provider
        // finds them; nothing of the process environment is changed or needed.
        let overlay = |key: &str| {
            EnvOverlay::new(
                [
                    ("AWS_ACCESS_KEY_ID", key),
                    ("AWS_SECRET_ACCESS_KEY", "overlay-secret"),
                    ("AWS_SESSION_TOKEN", ""),
                    ("AWS_EC2_METADATA_DISABLED", "true"),
                    ("AWS_CONFIG_FILE", "/nonexistent/config"),
                    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            )
        };
        let cache = CredentialCache::new(Source::DefaultChain {
            profile: None,
            region: "us-east-1".into(),
            env: overlay("AKOVERLAY"),
        });
        let c = cache.get().await.unwrap();
        assert_eq!(
            (c.access_key_id(), c.secret_access_key(), c.session_token()),
            ("AKOVERLAY", "overlay-secret", None)
        );
        assert!(!format!("{:?}", overlay("AKOVERLAY")).contains("overlay-secret"), "debug output shows names only");
    }
}
