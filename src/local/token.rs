//! Verification of DSQL IAM auth tokens (SigV4 presigned URLs without scheme).
//!
//! The signature is recomputed with the SDK's own `AuthTokenGenerator`, fed the matching
//! configured credentials and a clock frozen at the token's `X-Amz-Date`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dsql::auth_token::{AuthTokenGenerator, Config};
use aws_smithy_async::time::StaticTimeSource;

/// Longest validity a token may claim (7 days), as in SigV4.
pub const MAX_EXPIRES: u64 = 604_800;

/// Why a token was refused. Never carries any part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    WrongHost,
    WrongRegion,
    WrongService,
    UnknownKey,
    BadSessionToken,
    WrongAction,
    BadExpiry,
    NotYetValid,
    Expired,
    BadSignature,
}

impl TokenError {
    /// Time-related failures (counted as `expired`); everything else is `bad_token`.
    pub fn is_time(self) -> bool {
        matches!(self, TokenError::Expired | TokenError::NotYetValid)
    }
}

/// The fields of a parsed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedToken {
    pub host: String,
    pub action: String,
    pub akid: String,
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub amz_date: String,
    pub date: SystemTime,
    pub expires: u64,
    pub signature: String,
    pub security_token: Option<String>,
}

/// Parses `<host>/?<query>`; rejects unknown or repeated parameters.
pub fn parse_token(token: &str) -> Result<ParsedToken, TokenError> {
    use TokenError::Malformed;
    let (host, query) = token.split_once("/?").ok_or(Malformed)?;
    let mut f: [Option<String>; 9] = Default::default();
    const NAMES: [&str; 9] = [
        "Action",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "", // unused slot keeps indices readable
    ];
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let i = NAMES[..8].iter().position(|n| *n == k).ok_or(Malformed)?;
        if f[i].replace(v.into_owned()).is_some() {
            return Err(Malformed);
        }
    }
    let [action, alg, cred, amz_date, expires, signed, sig, sec, _] = f;
    let (action, alg, cred, amz_date, expires, signed, signature) = (
        action.ok_or(Malformed)?,
        alg.ok_or(Malformed)?,
        cred.ok_or(Malformed)?,
        amz_date.ok_or(Malformed)?,
        expires.ok_or(Malformed)?,
        signed.ok_or(Malformed)?,
        sig.ok_or(Malformed)?,
    );
    if alg != "AWS4-HMAC-SHA256" || signed != "host" || host.is_empty() {
        return Err(Malformed);
    }
    let parts: Vec<&str> = cred.split('/').collect();
    let [akid, scope_date, region, service, "aws4_request"] = parts[..] else {
        return Err(Malformed);
    };
    let date = parse_amz_date(&amz_date).ok_or(Malformed)?;
    if akid.is_empty() || !amz_date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(Malformed);
    }
    if expires.is_empty() || expires.len() > 12 || !expires.bytes().all(|c| c.is_ascii_digit()) {
        return Err(TokenError::BadExpiry);
    }
    let expires: u64 = expires.parse().map_err(|_| TokenError::BadExpiry)?;
    Ok(ParsedToken {
        host: host.to_owned(),
        action,
        akid: akid.to_owned(),
        scope_date: scope_date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        amz_date,
        date,
        expires,
        signature,
        security_token: sec,
    })
}

/// Parses `yyyymmddThhmmssZ` (UTC).
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let mdays = [
        31,
        if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if y < 1970 || !(1..=12).contains(&mo) || d < 1 || d > mdays[(mo - 1) as usize] || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // days from civil (Howard Hinnant)
    let (yy, m) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Equality in time independent of where the first difference is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks tokens against one endpoint, region and set of accepted credentials.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub endpoint: String,
    pub region: String,
    pub credentials: Vec<Credentials>,
    /// How far in the future `X-Amz-Date` may be.
    pub max_skew: Duration,
}

impl Verifier {
    /// Verifies `token` presented by startup user `user` at time `now`.
    pub async fn verify(&self, token: &str, user: &str, now: SystemTime) -> Result<(), TokenError> {
        let t = parse_token(token)?;
        if !t.host.eq_ignore_ascii_case(&self.endpoint) {
            return Err(TokenError::WrongHost);
        }
        if t.region != self.region {
            return Err(TokenError::WrongRegion);
        }
        if t.service != "dsql" {
            return Err(TokenError::WrongService);
        }
        let admin = user == "admin";
        if t.action != if admin { "DbConnectAdmin" } else { "DbConnect" } {
            return Err(TokenError::WrongAction);
        }
        if !(1..=MAX_EXPIRES).contains(&t.expires) {
            return Err(TokenError::BadExpiry);
        }
        let cred = self.credentials.iter().find(|c| c.access_key_id() == t.akid).ok_or(TokenError::UnknownKey)?;
        match (cred.session_token(), &t.security_token) {
            (None, None) => {}
            (Some(a), Some(b)) if ct_eq(a.as_bytes(), b.as_bytes()) => {}
            _ => return Err(TokenError::BadSessionToken),
        }
        if now.checked_add(self.max_skew).is_some_and(|latest| t.date > latest) {
            return Err(TokenError::NotYetValid);
        }
        if t.date + Duration::from_secs(t.expires) < now {
            return Err(TokenError::Expired);
        }
        let expected =
            sign(cred, &self.endpoint, &self.region, t.date, t.expires, admin).await.ok_or(TokenError::BadSignature)?;
        let expected = signature_of(&expected).ok_or(TokenError::BadSignature)?;
        if ct_eq(expected.as_bytes(), t.signature.as_bytes()) {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

/// Makes a token with the SDK signer at a fixed time.
pub async fn sign(
    cred: &Credentials,
    host: &str,
    region: &str,
    at: SystemTime,
    expires: u64,
    admin: bool,
) -> Option<String> {
    let sdk = SdkConfig::builder()
        .credentials_provider(SharedCredentialsProvider::new(cred.clone()))
        .time_source(StaticTimeSource::new(at))
        .build();
    let cfg = Config::builder()
        .hostname(host.to_ascii_lowercase())
        .region(Region::new(region.to_owned()))
        .expires_in(expires)
        .build()
        .ok()?;
    let g = AuthTokenGenerator::new(cfg);
    let tok = if admin { g.db_connect_admin_auth_token(&sdk).await } else { g.db_connect_auth_token(&sdk).await };
    tok.ok().map(|t| t.as_str().to_owned())
}

fn signature_of(token: &str) -> Option<String> {
    let (_, q) = token.split_once("/?")?;
    url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "X-Amz-Signature").map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "peccy.dsql.us-east-1.on.aws";
    const ADMIN: &str = "peccy.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240827%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20240827T000000Z&X-Amz-Expires=450&X-Amz-SignedHeaders=host&X-Amz-Signature=267cf8d04d84444f7a62d5bdb40c44bfc6cb13dd6c64fa7f772df6bbaa90fff1";
    const USER: &str = "peccy.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240827%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20240827T000000Z&X-Amz-Expires=450&X-Amz-SignedHeaders=host&X-Amz-Signature=f5f2ad764ca5df44045d4ab6ccecba0eef941b0007e5765885a0b6ed3702a3f8";

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_724_716_800)
    }

    fn verifier(host: &str, region: &str) -> Verifier {
        Verifier {
            endpoint: host.into(),
            region: region.into(),
            credentials: vec![
                Credentials::new("other", "x", None, None, "t"),
                Credentials::new("akid", "secret", None, None, "t"),
            ],
            max_skew: Duration::from_secs(300),
        }
    }

    #[test]
    fn amz_date() {
        assert_eq!(parse_amz_date("20240827T000000Z"), Some(t0()));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(UNIX_EPOCH + Duration::from_secs(1_709_251_199)));
        for bad in [
            "20230229T000000Z",
            "20240827T240000Z",
            "2024082TT000000Z",
            "20240827T000000",
            "+0240827T000000Z",
            "20240827T00000٠Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn known_vectors_verify_with_frozen_clock() {
        let v = verifier(HOST, "us-east-1");
        assert_eq!(v.verify(ADMIN, "admin", t0()).await, Ok(()));
        assert_eq!(v.verify(USER, "app", t0()).await, Ok(()));
        // host is case-insensitive; parameter order may vary (JS signer order)
        let upper = ADMIN.replacen("peccy", "PECCY", 1);
        assert_eq!(v.verify(&upper, "admin", t0()).await, Ok(()));
        let (head, sig) = USER.split_once("&X-Amz-SignedHeaders=host").unwrap();
        let js = format!("{head}{sig}&X-Amz-SignedHeaders=host");
        assert_eq!(v.verify(&js, "app", t0()).await, Ok(()));
        // our signer reproduces the vector
        let c = Credentials::new("akid", "secret", None, None, "t");
        assert_eq!(sign(&c, HOST, "us-east-1", t0(), 450, true).await.as_deref(), Some(ADMIN));
    }

    #[tokio::test]
    async fn tampering_fails_with_the_right_reason() {
        use TokenError::*;
        let v = verifier(HOST, "us-east-1");
        let sig_at = ADMIN.find("X-Amz-Signature=").unwrap() + 16;
        for i in sig_at..ADMIN.len() {
            let mut b = ADMIN.as_bytes().to_vec();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(b).unwrap();
            assert_eq!(v.verify(&t, "admin", t0()).await, Err(BadSignature), "flip at {i}");
        }
        let cases: Vec<(String, &str, TokenError)> = vec![
            (ADMIN.to_string(), "app", WrongAction),
            (USER.to_string(), "admin", WrongAction),
            (ADMIN.replace("Action=DbConnectAdmin", "Action=DbConnect"), "app", BadSignature),
            (ADMIN.replace("%2Fus-east-1%2F", "%2Fus-west-2%2F"), "admin", WrongRegion),
            (ADMIN.replacen("peccy", "other", 1), "admin", WrongHost),
            (ADMIN.replace("X-Amz-Expires=450", "X-Amz-Expires=900"), "admin", BadSignature),
            (ADMIN.replace("X-Amz-Expires=450", "X-Amz-Expires=0"), "admin", BadExpiry),
            (ADMIN.replace("X-Amz-Expires=450", "X-Amz-Expires=604801"), "admin", BadExpiry),
            (ADMIN.replace("X-Amz-Expires=450", "X-Amz-Expires=-1"), "admin", BadExpiry),
            (ADMIN.replace("T000000Z", "T000001Z"), "admin", BadSignature),
            (ADMIN.replace("20240827", "20240826"), "admin", Expired),
            (ADMIN.replace("20240827", "20240826").replace("T000000Z", "T235959Z"), "admin", BadSignature),
            (ADMIN.replace("X-Amz-Date=20240827", "X-Amz-Date=20240826"), "admin", Malformed),
            (ADMIN.replace("akid%2F", "nope%2F"), "admin", UnknownKey),
            (ADMIN.replace("%2Fdsql%2F", "%2Frds%2F"), "admin", WrongService),
            (format!("{ADMIN}&X-Amz-Security-Token=abc"), "admin", BadSessionToken),
            (format!("{ADMIN}&Action=DbConnectAdmin"), "admin", Malformed),
            (format!("{ADMIN}&Extra=1"), "admin", Malformed),
            (ADMIN.replace("/?", "?"), "admin", Malformed),
            (String::new(), "admin", Malformed),
        ];
        for (tok, user, want) in cases {
            assert_eq!(v.verify(&tok, user, t0()).await, Err(want), "{tok}");
        }
        // wrong configured region/host, or secret
        assert_eq!(verifier(HOST, "us-west-2").verify(ADMIN, "admin", t0()).await, Err(WrongRegion));
        let mut w = verifier(HOST, "us-east-1");
        w.credentials = vec![Credentials::new("akid", "secreT", None, None, "t")];
        assert_eq!(w.verify(ADMIN, "admin", t0()).await, Err(BadSignature));
        // clock: valid through date+450, expired after; future only within skew
        let s = Duration::from_secs;
        assert_eq!(v.verify(ADMIN, "admin", t0() + s(450)).await, Ok(()));
        assert_eq!(v.verify(ADMIN, "admin", t0() + s(451)).await, Err(Expired));
        assert_eq!(v.verify(ADMIN, "admin", t0() - s(300)).await, Ok(()));
        assert_eq!(v.verify(ADMIN, "admin", t0() - s(301)).await, Err(NotYetValid));
    }

    /// Random edits of a valid token never panic, and edits of its signature never verify.
    #[tokio::test]
    async fn mutated_tokens() {
        use rand::{Rng, SeedableRng};
        let v = verifier(HOST, "us-east-1");
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let sig_at = ADMIN.find("X-Amz-Signature=").unwrap();
        for _ in 0..3000 {
            let mut b = ADMIN.as_bytes().to_vec();
            let i = rng.random_range(0..b.len());
            match rng.random_range(0..3) {
                0 => b[i] = rng.random(),
                1 => {
                    b.remove(i);
                }
                _ => b.truncate(i),
            }
            let t = String::from_utf8_lossy(&b);
            let r = v.verify(&t, "admin", t0()).await;
            if i >= sig_at && t != ADMIN {
                assert!(r.is_err(), "{t}");
            }
        }
    }

    #[tokio::test]
    async fn session_tokens_are_required_and_compared() {
        let c = Credentials::new("ASIA1", "sk", Some("sess+/=tok".into()), None, "t");
        let v = Verifier { credentials: vec![c.clone()], ..verifier(HOST, "us-east-1") };
        let tok = sign(&c, HOST, "us-east-1", t0(), 900, false).await.unwrap();
        assert!(tok.contains("X-Amz-Security-Token="));
        assert_eq!(v.verify(&tok, "app", t0()).await, Ok(()));
        let no_sess = Credentials::new("ASIA1", "sk", None, None, "t");
        let tok2 = sign(&no_sess, HOST, "us-east-1", t0(), 900, false).await.unwrap();
        assert_eq!(v.verify(&tok2, "app", t0()).await, Err(TokenError::BadSessionToken));
        let other = Credentials::new("ASIA1", "sk", Some("other".into()), None, "t");
        let tok3 = sign(&other, HOST, "us-east-1", t0(), 900, false).await.unwrap();
        assert_eq!(v.verify(&tok3, "app", t0()).await, Err(TokenError::BadSessionToken));
    }
}
