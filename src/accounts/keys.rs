//! API keys: service accounts for an ATS or a script. An admin makes one with a role; the key
//! is shown once (`vk_` and 43 random characters), stored only as its SHA-256, and works as a
//! bearer token wherever a staff access token does, until it is revoked. What a key does is
//! attributed to the admin who made it, with the key's id in the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::tokens::{new_opaque_token, opaque_hash};
use super::{Role, Scope};
use crate::store::StoreResult;

/// What every key starts with (so a leaked one is recognisable, and never taken for a JWT).
pub const PREFIX: &str = "vk_";
/// Characters of a key kept to tell keys apart in lists (the prefix and 8 more).
const SHOWN: usize = PREFIX.len() + 8;
/// Keys an organization may hold (revoked ones not counted).
pub const MAX_KEYS: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The key's first characters, to tell it apart (the rest is never stored).
    pub prefix: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key about to be stored, and the secret shown once.
pub struct NewKey {
    pub key: ApiKey,
    pub secret: String,
    pub hash: String,
}

impl NewKey {
    pub fn generate(org: Uuid, name: String, role: Role, by: Uuid) -> Self {
        let secret = format!("{PREFIX}{}", new_opaque_token());
        Self {
            key: ApiKey {
                id: Uuid::now_v7(),
                organization_id: org,
                name,
                role,
                prefix: secret[..SHOWN].to_owned(),
                created_by: by,
                created_at: Utc::now(),
                revoked_at: None,
            },
            hash: opaque_hash(&secret),
            secret,
        }
    }
}

/// Whether a bearer token is an API key (not a JWT).
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(PREFIX)
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    async fn create_key(&self, key: &NewKey) -> StoreResult<()>;
    /// The organization's keys that work (not revoked), newest first.
    async fn keys_in(&self, scope: Scope) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key of the organization; `None` if there is none (or it was revoked).
    async fn revoke_key(&self, scope: Scope, id: Uuid) -> StoreResult<Option<ApiKey>>;
    /// A working key by the hash of its secret.
    async fn key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>>;
    /// A working key by its id (a socket opened with it re-checks this).
    async fn working_key(&self, id: Uuid) -> StoreResult<Option<ApiKey>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_shown_once_and_kept_as_a_hash() {
        let k = NewKey::generate(Uuid::nil(), "ATS".into(), Role::Recruiter, Uuid::nil());
        assert!(is_api_key(&k.secret) && k.secret.len() > 40);
        assert!(k.secret.starts_with(&k.key.prefix));
        assert_eq!(k.hash, opaque_hash(&k.secret));
        assert!(!k.hash.contains(&k.secret[SHOWN..]));
        let other = NewKey::generate(Uuid::nil(), "ATS".into(), Role::Recruiter, Uuid::nil());
        assert_ne!(k.secret, other.secret);
        assert!(!serde_json::to_string(&k.key).unwrap().contains(&k.secret));
    }
}
