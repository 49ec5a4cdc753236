//! Values read from the store, shared: interviews whose stored JSON is identical (the same
//! plan, the same prompts — and every interview a load test makes) hold one copy in memory, not
//! one each. Only for immutable values; an entry lives as long as an interview holds it.

use std::sync::{Arc, OnceLock, Weak};

use dashmap::DashMap;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Entries kept before dead ones are swept.
const SWEEP_AT: usize = 1024;

/// One table of shared values of type `T`, keyed by the SHA-256 of their JSON.
pub struct Interned<T> {
    values: OnceLock<DashMap<[u8; 32], Weak<T>>>,
}

impl<T: DeserializeOwned> Interned<T> {
    pub const fn new() -> Self {
        Self {
            values: OnceLock::new(),
        }
    }

    /// The value stored as `json`: the copy already in memory, if an interview holds one.
    pub fn parse(&self, json: &str) -> Result<Arc<T>, serde_json::Error> {
        let key: [u8; 32] = Sha256::digest(json.as_bytes()).into();
        let map = self.values.get_or_init(DashMap::new);
        if let Some(v) = map.get(&key).and_then(|w| w.upgrade()) {
            return Ok(v);
        }
        let value = Arc::new(serde_json::from_str::<T>(json)?);
        if map.len() >= SWEEP_AT {
            map.retain(|_, w| w.strong_count() > 0);
        }
        map.insert(key, Arc::downgrade(&value));
        Ok(value)
    }
}

impl<T: DeserializeOwned> Default for Interned<T> {
    fn default() -> Self {
        Self::new()
    }
}
