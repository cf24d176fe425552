//! DSQL IAM auth tokens, made by aws-sdk-dsql's `AuthTokenGenerator` (local SigV4 presigning).

use crate::core::error::{Error, Result};
use aws_credential_types::Credentials;
use aws_sdk_dsql::auth_token::{AuthTokenGenerator, Config as TokenConfig};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_types::region::Region;
use aws_types::SdkConfig;

/// Signs tokens for one cluster host, region and lifetime.
#[derive(Clone)]
pub struct TokenSigner {
    host: String,
    region: Region,
    expires_in: u64,
    sdk: SdkConfig,
}

impl TokenSigner {
    pub fn new(host: &str, region: &str, expires_in: u64) -> Self {
        Self::with_time_source(host, region, expires_in, SharedTimeSource::new(SystemTimeSource::new()))
    }

    /// A signer with an injected clock (tests freeze time with `StaticTimeSource`).
    pub fn with_time_source(host: &str, region: &str, expires_in: u64, time: SharedTimeSource) -> Self {
        let sdk = SdkConfig::builder().time_source(time).region(Region::new(region.to_string())).build();
        TokenSigner { host: host.to_string(), region: Region::new(region.to_string()), expires_in, sdk }
    }

    /// `DbConnectAdmin` for `admin`, `DbConnect` otherwise.
    pub async fn token(&self, credentials: Credentials, admin: bool) -> Result<String> {
        let cfg = TokenConfig::builder()
            .hostname(self.host.clone())
            .region(self.region.clone())
            .expires_in(self.expires_in)
            .credentials(credentials)
            .build()
            .map_err(|e| Error::Credentials(format!("could not configure the token generator: {e}")))?;
        let generator = AuthTokenGenerator::new(cfg);
        let token = if admin {
            generator.db_connect_admin_auth_token(&self.sdk).await
        } else {
            generator.db_connect_auth_token(&self.sdk).await
        };
        token
            .map(|t| t.as_str().to_string())
            .map_err(|e| Error::Credentials(format!("could not sign the DSQL auth token: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_async::time::StaticTimeSource;
    use std::time::{Duration, UNIX_EPOCH};

    // aws-sdk-dsql's published vector (dsql-facts.md).
    const ADMIN: &str = "peccy.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240827%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20240827T000000Z&X-Amz-Expires=450&X-Amz-SignedHeaders=host&X-Amz-Signature=267cf8d04d84444f7a62d5bdb40c44bfc6cb13dd6c64fa7f772df6bbaa90fff1";
    const USER: &str = "peccy.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240827%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20240827T000000Z&X-Amz-Expires=450&X-Amz-SignedHeaders=host&X-Amz-Signature=f5f2ad764ca5df44045d4ab6ccecba0eef941b0007e5765885a0b6ed3702a3f8";

    fn frozen() -> SharedTimeSource {
        // 2024-08-27T00:00:00Z
        SharedTimeSource::new(StaticTimeSource::new(UNIX_EPOCH + Duration::from_secs(1_724_716_800)))
    }

    #[tokio::test]
    async fn matches_the_published_vector_byte_for_byte() {
        let signer = TokenSigner::with_time_source("peccy.dsql.us-east-1.on.aws", "us-east-1", 450, frozen());
        let creds = Credentials::new("akid", "secret", None, None, "test");
        assert_eq!(signer.token(creds.clone(), true).await.unwrap(), ADMIN);
        assert_eq!(signer.token(creds, false).await.unwrap(), USER);
    }

    #[tokio::test]
    async fn session_token_and_changes_change_the_signature() {
        let signer = TokenSigner::with_time_source("peccy.dsql.us-east-1.on.aws", "us-east-1", 450, frozen());
        let t =
            signer.token(Credentials::new("akid", "secret", Some("sess".into()), None, "test"), true).await.unwrap();
        assert!(t.contains("X-Amz-Security-Token=sess"));
        assert_ne!(t, ADMIN);
        let other_region = TokenSigner::with_time_source("peccy.dsql.us-east-1.on.aws", "us-east-2", 450, frozen());
        assert_ne!(other_region.token(Credentials::new("akid", "secret", None, None, "t"), true).await.unwrap(), ADMIN);
    }
}
