//! Staff credentials: access tokens (HS256 JWTs, 15 minutes, audience `viva:api`, `typ:
//! "access"`, naming the session they belong to) and refresh tokens (32 random bytes, opaque,
//! stored only as their SHA-256).

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use crate::auth::{AuthError, ISSUER};

pub const API_AUDIENCE: &str = "viva:api";
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
pub const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    pub org: Uuid,
    pub role: Role,
    /// The session (sign-in) this token belongs to: revoking it stops the token at once.
    pub sid: Uuid,
    /// Always `"access"`.
    pub typ: String,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct AccessTokens {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl AccessTokens {
    /// `secret`: the server's signing key (the same as candidate links'; audiences keep them
    /// apart).
    pub fn new(secret: &[u8]) -> Self {
        // HS256 only: `alg: none` and every other algorithm fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[API_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        validation.leeway = 30;
        Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(&self, user: Uuid, org: Uuid, role: Role, session: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            org,
            role,
            sid: session,
            typ: "access".into(),
            aud: API_AUDIENCE.into(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + ACCESS_TTL.as_secs() as i64,
            jti: Uuid::new_v4().to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .expect("HS256 signing cannot fail")
    }

    /// The claims of a valid access token (not yet checked against its session).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let data =
            decode::<AccessClaims>(token, &self.dec, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::Invalid,
                }
            })?;
        if data.claims.typ != "access" {
            return Err(AuthError::Invalid);
        }
        Ok(data.claims)
    }
}

/// How long an invitation or password-reset link works.
pub const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A new opaque token (refresh token, invitation link): 32 random bytes, base64url.
pub fn new_opaque_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of an opaque token (refresh token, invitation link).
pub fn opaque_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn access_tokens_round_trip_and_refuse_other_keys_audiences_and_kinds() {
        let t = AccessTokens::new(KEY);
        let (user, org, sid) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let token = t.issue(user, org, Role::Recruiter, sid);
        let c = t.verify(&token).unwrap();
        assert_eq!(
            (c.sub, c.org, c.role, c.sid),
            (user, org, Role::Recruiter, sid)
        );
        // Another key.
        let other = AccessTokens::new(b"another-key-another-key-another-k");
        assert_eq!(other.verify(&token), Err(AuthError::Invalid));
        // A candidate link's token (another audience) is not an access token.
        let auth = crate::auth::Auth::new(KEY, Duration::from_secs(60));
        assert_eq!(
            t.verify(&auth.issue(Uuid::new_v4())),
            Err(AuthError::Invalid)
        );
        // The right audience but not `typ: access` (e.g. a token minted for something else).
        let mut claims = c.clone();
        claims.typ = "refresh".into();
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(KEY),
        )
        .unwrap();
        assert_eq!(t.verify(&forged), Err(AuthError::Invalid));
        // `alg: none`.
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&serde_json::to_string(&c).unwrap())
        );
        assert_eq!(t.verify(&none), Err(AuthError::Invalid));
    }

    #[test]
    fn refresh_tokens_are_random_and_kept_only_as_hashes() {
        let (a, b) = (new_opaque_token(), new_opaque_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(opaque_hash(&a).len(), 64);
        assert_eq!(opaque_hash(&a), opaque_hash(&a));
        assert_ne!(opaque_hash(&a), opaque_hash(&b));
    }
}
