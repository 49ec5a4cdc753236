//! Where recordings are kept: [`DirStore`], a directory (the embedded default:
//! `<data dir>/recordings`), or [`S3Store`], any S3-compatible object store (AWS S3, MinIO,
//! Ceph…) over its REST API with Signature Version 4. Keys are `<interview id>/<file>`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("recording file: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Http(#[from] reqwest::Error),
    #[error("object store answered {status}: {body}")]
    Refused { status: u16, body: String },
}

pub type RecordingResult<T> = Result<T, RecordingError>;

#[async_trait]
pub trait RecordingStore: Send + Sync + 'static {
    /// Keeps the finished file at `from` under `key` (the file is moved or copied).
    async fn put(&self, key: &str, from: &Path) -> RecordingResult<()>;
    async fn get(&self, key: &str) -> RecordingResult<Option<Bytes>>;
    /// The keys under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> RecordingResult<Vec<String>>;
    /// Deletes every key under `prefix`; how many.
    async fn delete_prefix(&self, prefix: &str) -> RecordingResult<usize>;
}

/// Recordings in a directory.
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `key` under the root; keys are made by the server (`<uuid>/<name>.ogg`), never taken
    /// from a request, and anything else is refused.
    fn path(&self, key: &str) -> RecordingResult<PathBuf> {
        let safe = key
            .split('/')
            .all(|part| !part.is_empty() && part != ".." && part != "." && !part.contains('\\'));
        if !safe {
            return Err(RecordingError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "bad recording key",
            )));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl RecordingStore for DirStore {
    async fn put(&self, key: &str, from: &Path) -> RecordingResult<()> {
        let to = self.path(key)?;
        if let Some(dir) = to.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        if tokio::fs::rename(from, &to).await.is_err() {
            // Another file system: copy, then drop the spool file.
            tokio::fs::copy(from, &to).await?;
            tokio::fs::remove_file(from).await?;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> RecordingResult<Option<Bytes>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, prefix: &str) -> RecordingResult<Vec<String>> {
        let dir = self.path(prefix.trim_end_matches('/'))?;
        let mut out = Vec::new();
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        while let Some(e) = entries.next_entry().await? {
            if let Some(name) = e.file_name().to_str() {
                out.push(format!("{}/{name}", prefix.trim_end_matches('/')));
            }
        }
        out.sort();
        Ok(out)
    }

    async fn delete_prefix(&self, prefix: &str) -> RecordingResult<usize> {
        let keys = self.list(prefix).await?;
        let dir = self.path(prefix.trim_end_matches('/'))?;
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(keys.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// Where an S3-compatible store is and how to sign in to it.
#[derive(Clone)]
pub struct S3Settings {
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`… (path-style requests).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: crate::config::Secret,
}

/// Recordings in an S3-compatible bucket.
pub struct S3Store {
    s: S3Settings,
    http: reqwest::Client,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex_sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 encoding as SigV4 wants it (`/` kept in paths when `keep_slash`).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl S3Store {
    pub fn new(s: S3Settings) -> Self {
        Self {
            s,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// A signed request (AWS Signature Version 4, payload hashed) for `key` (`None`: the bucket).
    fn request(
        &self,
        method: reqwest::Method,
        key: Option<&str>,
        query: &[(&str, &str)],
        body: Bytes,
    ) -> reqwest::RequestBuilder {
        let endpoint = self.s.endpoint.trim_end_matches('/');
        let host = endpoint
            .split_once("://")
            .map_or(endpoint, |(_, h)| h)
            .to_owned();
        let path = match key {
            Some(k) => format!("/{}/{}", self.s.bucket, uri_encode(k, true)),
            None => format!("/{}", self.s.bucket),
        };
        let mut q: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
            .collect();
        q.sort();
        let canonical_query = q
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let now = Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let day = now.format("%Y%m%d").to_string();
        let payload_hash = hex_sha256(&body);
        let canonical = format!(
            "{method}\n{path}\n{canonical_query}\nhost:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload_hash}"
        );
        let scope = format!("{day}/{}/s3/aws4_request", self.s.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex_sha256(canonical.as_bytes())
        );
        let k_date = hmac(
            format!("AWS4{}", self.s.secret_key.expose()).as_bytes(),
            &day,
        );
        let k_region = hmac(&k_date, &self.s.region);
        let k_service = hmac(&k_region, "s3");
        let k_signing = hmac(&k_service, "aws4_request");
        let signature = hex(&hmac(&k_signing, &to_sign));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}",
            self.s.access_key
        );
        let url = if canonical_query.is_empty() {
            format!("{endpoint}{path}")
        } else {
            format!("{endpoint}{path}?{canonical_query}")
        };
        self.http
            .request(method, url)
            .header("x-amz-date", amz_date)
            .header("x-amz-content-sha256", payload_hash)
            .header("authorization", auth)
            .body(body)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> RecordingResult<reqwest::Response> {
        let r = req.send().await?;
        if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(r);
        }
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        Err(RecordingError::Refused {
            status,
            body: body.chars().take(300).collect(),
        })
    }

    /// Makes the bucket if it is not there (for a fresh store; an existing one is kept).
    pub async fn ensure_bucket(&self) -> RecordingResult<()> {
        let r = self
            .http
            .head(format!(
                "{}/{}",
                self.s.endpoint.trim_end_matches('/'),
                self.s.bucket
            ))
            .send()
            .await?;
        if r.status().is_success() {
            return Ok(());
        }
        let made = self
            .request(reqwest::Method::PUT, None, &[], Bytes::new())
            .send()
            .await?;
        if made.status().is_success() || made.status() == reqwest::StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(RecordingError::Refused {
                status: made.status().as_u16(),
                body: made.text().await.unwrap_or_default(),
            })
        }
    }
}

#[async_trait]
impl RecordingStore for S3Store {
    async fn put(&self, key: &str, from: &Path) -> RecordingResult<()> {
        let body = Bytes::from(tokio::fs::read(from).await?);
        let r = self
            .send(self.request(reqwest::Method::PUT, Some(key), &[], body))
            .await?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(RecordingError::Refused {
                status: 404,
                body: format!("no bucket {}", self.s.bucket),
            });
        }
        tokio::fs::remove_file(from).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> RecordingResult<Option<Bytes>> {
        let r = self
            .send(self.request(reqwest::Method::GET, Some(key), &[], Bytes::new()))
            .await?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(r.bytes().await?))
    }

    async fn list(&self, prefix: &str) -> RecordingResult<Vec<String>> {
        let query = [("list-type", "2"), ("prefix", prefix)];
        let r = self
            .send(self.request(reqwest::Method::GET, None, &query, Bytes::new()))
            .await?;
        let xml = r.text().await?;
        let mut keys: Vec<String> = xml
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| unescape(k)))
            .collect();
        keys.sort();
        Ok(keys)
    }

    async fn delete_prefix(&self, prefix: &str) -> RecordingResult<usize> {
        let keys = self.list(prefix).await?;
        for k in &keys {
            self.send(self.request(reqwest::Method::DELETE, Some(k), &[], Bytes::new()))
                .await?;
        }
        Ok(keys.len())
    }
}

/// XML text to a string (the five predefined entities).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_key_derivation_matches_aws_documentation() {
        // AWS's worked example ("Deriving the signing key", SigV4 documentation).
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), "20120215");
        let k_region = hmac(&k_date, "us-east-1");
        let k_service = hmac(&k_region, "iam");
        let k_signing = hmac(&k_service, "aws4_request");
        assert_eq!(
            hex(&k_signing),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn keys_are_encoded_for_signing() {
        assert_eq!(uri_encode("a b/c.ogg", true), "a%20b/c.ogg");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }

    #[tokio::test]
    async fn a_directory_store_keeps_lists_and_deletes_by_interview() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("recordings"));
        let spool = dir.path().join("spool.ogg");
        std::fs::write(&spool, b"OggS").unwrap();
        store.put("abc/candidate-0.ogg", &spool).await.unwrap();
        assert!(!spool.exists(), "moved");
        assert_eq!(
            store.get("abc/candidate-0.ogg").await.unwrap().unwrap(),
            Bytes::from_static(b"OggS")
        );
        assert_eq!(store.list("abc/").await.unwrap(), ["abc/candidate-0.ogg"]);
        assert!(store.get("abc/none.ogg").await.unwrap().is_none());
        assert!(store.get("../etc/passwd").await.is_err());
        assert_eq!(store.delete_prefix("abc/").await.unwrap(), 1);
        assert!(store.list("abc/").await.unwrap().is_empty());
    }
}
