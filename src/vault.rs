//! Secrets kept at rest (webhook signing secrets; organizations' provider keys): sealed with
//! AES-256-GCM under the server's encryption key — `VIVA_ENCRYPTION_KEY` (at least 32
//! characters), or generated once into `<data dir>/encryption.key` on the embedded default, like
//! the JWT secret. The AES key is the SHA-256 of that text. A sealed value is `v1:` then the
//! 96-bit nonce and the ciphertext with its tag, base64; the nonce is random per value.
//!
//! Several nodes must share one key (set `VIVA_ENCRYPTION_KEY`), or they cannot open each
//! other's values. Losing the key loses the sealed secrets: webhooks need a new secret and
//! provider keys must be entered again.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1:";
const NONCE_BYTES: usize = 12;

/// Seals and opens secrets. `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([key redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sealed secret could not be opened (another encryption key, or damaged)")]
pub struct Unsealable;

impl Vault {
    /// A vault keyed by `secret` (its SHA-256 is the AES-256 key).
    pub fn new(secret: &[u8]) -> Self {
        let key = Sha256::digest(secret);
        Self {
            cipher: Aes256Gcm::new(&key),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .expect("AES-GCM sealing cannot fail for inputs this small");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, Unsealable> {
        let raw = sealed
            .strip_prefix(VERSION)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|r| r.len() > NONCE_BYTES)
            .ok_or(Unsealable)?;
        let (nonce, body) = raw.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Unsealable)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain).map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_only_and_never_show_the_secret() {
        let v = Vault::new(b"0123456789abcdef0123456789abcdef");
        let sealed = v.seal("whsec_top_secret");
        assert!(sealed.starts_with("v1:") && !sealed.contains("top_secret"));
        assert_ne!(
            sealed,
            v.seal("whsec_top_secret"),
            "a fresh nonce every time"
        );
        assert_eq!(v.open(&sealed).unwrap(), "whsec_top_secret");
        let other = Vault::new(b"another key, also 32 bytes long!");
        assert_eq!(other.open(&sealed), Err(Unsealable));
        let mut damaged = sealed.clone();
        damaged.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert_eq!(v.open(&damaged), Err(Unsealable));
        assert_eq!(v.open("plain text"), Err(Unsealable));
        assert_eq!(format!("{v:?}"), "Vault([key redacted])");
    }
}
