//! Bring your own key: an organization's own vendor keys (`PUT /v1/org/provider-keys/{vendor}`),
//! sealed at rest, used for its interviews in place of the server's key for that vendor. The
//! order of providers and the models stay the server's configuration. Providers built with an
//! organization's keys are kept per organization and key set, so retries and circuit breakers
//! are per vendor and key: one organization's bad key never opens the breaker for another.
//! Keys are opened (decrypted) only here, where the providers are built, and never returned or
//! logged.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ProviderSettings, Providers};
use crate::config::Secret;
use crate::store::StoreResult;
use crate::vault::Vault;

/// Vendors an organization may bring a key for.
pub const VENDORS: [&str; 3] = ["openai", "gemini", "deepgram"];

/// A stored key: sealed, with its last four characters to tell it by.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub vendor: String,
    pub sealed: String,
    pub last4: String,
    pub updated_at: DateTime<Utc>,
}

/// What the API shows of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub vendor: String,
    pub set: bool,
    pub last4: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait ProviderKeyStore: Send + Sync + 'static {
    async fn set_provider_key(
        &self,
        org: Uuid,
        vendor: &str,
        sealed: &str,
        last4: &str,
        by: Option<Uuid>,
    ) -> StoreResult<()>;
    /// `false` if there was none.
    async fn delete_provider_key(&self, org: Uuid, vendor: &str) -> StoreResult<bool>;
    async fn provider_keys(&self, org: Uuid) -> StoreResult<Vec<StoredKey>>;
}

/// Every vendor's key state for an organization, in [`VENDORS`] order.
pub fn views(keys: &[StoredKey]) -> Vec<KeyView> {
    VENDORS
        .iter()
        .map(|v| match keys.iter().find(|k| k.vendor == *v) {
            Some(k) => KeyView {
                vendor: (*v).into(),
                set: true,
                last4: Some(k.last4.clone()),
                updated_at: Some(k.updated_at),
            },
            None => KeyView {
                vendor: (*v).into(),
                set: false,
                last4: None,
                updated_at: None,
            },
        })
        .collect()
}

/// Builds (and keeps) the providers of organizations that brought keys.
pub struct OrgProviders {
    settings: ProviderSettings,
    base: Providers,
    keys: Arc<dyn ProviderKeyStore>,
    vault: Vault,
    /// Organization → (fingerprint of its keys, its providers).
    built: DashMap<Uuid, ([u8; 32], Providers)>,
}

impl OrgProviders {
    pub fn new(
        settings: ProviderSettings,
        base: Providers,
        keys: Arc<dyn ProviderKeyStore>,
        vault: Vault,
    ) -> Self {
        Self {
            settings,
            base,
            keys,
            vault,
            built: DashMap::new(),
        }
    }

    /// The providers for `org`'s interviews: the server's, or ones with its own keys. A store
    /// or key failure falls back to the server's providers (logged): the interview goes on.
    pub async fn for_org(&self, org: Uuid) -> Providers {
        let keys = match self.keys.provider_keys(org).await {
            Ok(k) if k.is_empty() => return self.base.clone(),
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(%org, error = %e, "provider keys unavailable; using the server's");
                return self.base.clone();
            }
        };
        let mut fp = Sha256::new();
        for k in &keys {
            fp.update(k.vendor.as_bytes());
            fp.update(k.sealed.as_bytes());
        }
        let fp: [u8; 32] = fp.finalize().into();
        if let Some(b) = self.built.get(&org).filter(|b| b.0 == fp) {
            return b.1.clone();
        }
        let mut s = self.settings.clone();
        for k in &keys {
            let plain = match self.vault.open(&k.sealed) {
                Ok(p) => Secret::new(p),
                Err(e) => {
                    tracing::warn!(%org, vendor = %k.vendor, error = %e, "an organization's key cannot be opened; using the server's");
                    continue;
                }
            };
            match k.vendor.as_str() {
                "openai" => s.remote.openai.api_key = Some(plain),
                "gemini" => s.remote.gemini.api_key = Some(plain),
                "deepgram" => s.remote.deepgram.api_key = Some(plain),
                _ => {}
            }
        }
        match Providers::from_settings_sharing(&s, self.base.local_stt.clone()) {
            Ok(p) => {
                self.built.insert(org, (fp, p.clone()));
                p
            }
            Err(e) => {
                tracing::warn!(%org, error = %e, "providers with the organization's keys not built; using the server's");
                self.base.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_is_listed_set_or_not() {
        let keys = [StoredKey {
            vendor: "gemini".into(),
            sealed: "v1:…".into(),
            last4: "9xYz".into(),
            updated_at: Utc::now(),
        }];
        let v = views(&keys);
        assert_eq!(v.len(), 3);
        assert!(!v[0].set && v[1].set && !v[2].set);
        assert_eq!(v[1].last4.as_deref(), Some("9xYz"));
    }
}
