//! Candidate credentials: HS256 JWTs bound to one interview, and single-use tickets.

use std::path::Path;
use std::time::Duration;

use jsonwebtoken::{
    decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const AUDIENCE: &str = "viva:candidate";
/// Audience of read-only monitor tokens (a recruiter watching one interview live).
pub const MONITOR_AUDIENCE: &str = "viva:monitor";
pub const ISSUER: &str = "viva";
/// How long a ticket from `POST /v1/interviews/{id}/ticket` is valid.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The interview this token opens.
    pub sub: String,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// On a monitor token: what its holder may do (`viewer` watches; `recruiter` may also listen
    /// in and steer). Absent: `viewer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::accounts::Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub interview: Uuid,
    /// The token's id, for the revocation list.
    pub jti: String,
    /// A monitor token's role (`viewer` when it names none); `None` on a candidate token.
    pub role: Option<crate::accounts::Role>,
}

/// Who a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The candidate taking the interview.
    Candidate,
    /// Someone watching the interview live, read-only.
    Monitor,
}

impl Audience {
    fn aud(self) -> &'static str {
        match self {
            Self::Candidate => AUDIENCE,
            Self::Monitor => MONITOR_AUDIENCE,
        }
    }
}

pub struct Auth {
    enc: EncodingKey,
    dec: DecodingKey,
    candidate: Validation,
    monitor: Validation,
    ttl: Duration,
}

impl Auth {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        // Only HS256 is accepted: `alg: none` and every other algorithm fail validation.
        let validation = |aud: Audience| {
            let mut v = Validation::new(Algorithm::HS256);
            v.set_audience(&[aud.aud()]);
            v.set_issuer(&[ISSUER]);
            v.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
            v.leeway = 30;
            v
        };
        Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            candidate: validation(Audience::Candidate),
            monitor: validation(Audience::Monitor),
            ttl,
        }
    }

    /// How long an issued token works.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A candidate token for one interview.
    pub fn issue(&self, interview: Uuid) -> String {
        self.issue_for(Audience::Candidate, interview)
    }

    /// A token for one interview and audience.
    pub fn issue_for(&self, audience: Audience, interview: Uuid) -> String {
        self.issue_with_id(audience, interview, Uuid::new_v4().to_string())
    }

    /// A token with a chosen id (`jti`): a candidate link the interview's record names.
    pub fn issue_with_id(&self, audience: Audience, interview: Uuid, jti: String) -> String {
        self.sign(audience, interview, jti, None)
    }

    /// A monitor token for one interview whose holder acts as `role` (at most `recruiter`:
    /// a monitor token never administers anything).
    pub fn issue_monitor(&self, interview: Uuid, role: crate::accounts::Role) -> String {
        let role = role.min(crate::accounts::Role::Recruiter);
        self.sign(
            Audience::Monitor,
            interview,
            Uuid::new_v4().to_string(),
            Some(role),
        )
    }

    fn sign(
        &self,
        audience: Audience,
        interview: Uuid,
        jti: String,
        role: Option<crate::accounts::Role>,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: interview.to_string(),
            aud: audience.aud().into(),
            iss: ISSUER.into(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti,
            role,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .expect("HS256 signing cannot fail")
    }

    /// The interview a candidate token opens.
    pub fn verify(&self, token: &str) -> Result<Uuid, AuthError> {
        self.verify_for(Audience::Candidate, token)
    }

    /// The interview a token for `audience` opens; tokens for other audiences are invalid.
    /// (Revocation is checked by the caller, against the hot state: [`Verified::jti`].)
    pub fn verify_for(&self, audience: Audience, token: &str) -> Result<Uuid, AuthError> {
        self.verify_claims(audience, token).map(|v| v.interview)
    }

    /// A valid token's interview and id.
    pub fn verify_claims(&self, audience: Audience, token: &str) -> Result<Verified, AuthError> {
        let validation = match audience {
            Audience::Candidate => &self.candidate,
            Audience::Monitor => &self.monitor,
        };
        let data = decode::<Claims>(token, &self.dec, validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid,
        })?;
        Ok(Verified {
            interview: Uuid::parse_str(&data.claims.sub).map_err(|_| AuthError::Invalid)?,
            jti: data.claims.jti,
            role: match audience {
                Audience::Candidate => None,
                Audience::Monitor => Some(
                    data.claims
                        .role
                        .unwrap_or(crate::accounts::Role::Viewer)
                        .min(crate::accounts::Role::Recruiter),
                ),
            },
        })
    }
}

/// The shortest signing key accepted (HS256 wants at least its 256-bit output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Creates `dir` if needed and makes it private to this user (0700): it holds the database and
/// the signing key.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Creates `path` empty if it does not exist, readable by this user only (0600); an existing
/// file readable by others is made private.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let f = opts.open(path)?;
        if f.metadata()?.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    opts.open(path)?;
    Ok(())
}

/// A fresh random ticket (256 bits, hex).
pub fn new_ticket() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signing key: configured, or generated once into `<data dir>/jwt.secret` (mode 0600).
pub fn load_or_create_secret(
    configured: Option<&str>,
    data_dir: &Path,
) -> std::io::Result<Vec<u8>> {
    load_or_create_key(configured, data_dir, "VIVA_JWT_SECRET", "jwt.secret")
}

/// A secret key: configured (`env`, at least 32 bytes), or generated once into
/// `<data dir>/<file>` (256 random bits as hex, mode 0600) and read from there after.
pub fn load_or_create_key(
    configured: Option<&str>,
    data_dir: &Path,
    env: &str,
    file: &str,
) -> std::io::Result<Vec<u8>> {
    if let Some(s) = configured {
        if s.len() < MIN_SECRET_BYTES {
            return Err(std::io::Error::other(format!(
                "{env} is {} bytes; use at least {MIN_SECRET_BYTES} random bytes \
                 (e.g. `openssl rand -hex 32`), or unset it to keep a generated key in the data directory",
                s.len()
            )));
        }
        return Ok(s.as_bytes().to_vec());
    }
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is shorter than 32 characters",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    private_dir(data_dir)?;
    // Written to a private temporary file, then linked into place: a concurrent reader sees
    // either no key or the whole key, and two writers agree on the first one linked.
    let secret = new_ticket();
    let tmp = data_dir.join(format!("{file}.{}", new_ticket()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    {
        use std::io::Write;
        let mut f = opts.open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.sync_all()?;
    }
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(secret.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn issued_tokens_verify_for_their_interview_and_audience_only() {
        let a = auth();
        let id = Uuid::now_v7();
        assert_eq!(a.verify(&a.issue(id)), Ok(id));
        let monitor = a.issue_for(Audience::Monitor, id);
        assert_eq!(a.verify_for(Audience::Monitor, &monitor), Ok(id));
        assert_eq!(a.verify(&monitor), Err(AuthError::Invalid));
        assert_eq!(
            a.verify_for(Audience::Monitor, &a.issue(id)),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn monitor_tokens_carry_their_role_never_above_recruiter() {
        use crate::accounts::Role;
        let a = auth();
        let id = Uuid::now_v7();
        let role = |t: &str| a.verify_claims(Audience::Monitor, t).unwrap().role;
        // Tokens made before roles existed, and plain monitor tokens, watch only.
        assert_eq!(
            role(&a.issue_for(Audience::Monitor, id)),
            Some(Role::Viewer)
        );
        assert_eq!(role(&a.issue_monitor(id, Role::Viewer)), Some(Role::Viewer));
        assert_eq!(
            role(&a.issue_monitor(id, Role::Recruiter)),
            Some(Role::Recruiter)
        );
        assert_eq!(
            role(&a.issue_monitor(id, Role::Admin)),
            Some(Role::Recruiter)
        );
        // A candidate token has none.
        assert_eq!(
            a.verify_claims(Audience::Candidate, &a.issue(id))
                .unwrap()
                .role,
            None
        );
    }

    #[test]
    fn forged_expired_and_unsigned_tokens_fail() {
        let a = auth();
        let id = Uuid::now_v7();
        let other = Auth::new(
            b"another-secret-another-secret-xx",
            Duration::from_secs(3600),
        );
        assert_eq!(a.verify(&other.issue(id)), Err(AuthError::Invalid));

        let now = chrono::Utc::now().timestamp();
        let expired = Claims {
            sub: id.to_string(),
            aud: AUDIENCE.into(),
            iss: ISSUER.into(),
            iat: now - 7200,
            exp: now - 3600,
            jti: "x".into(),
            role: None,
        };
        let t = encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(a.verify(&t), Err(AuthError::Expired));

        assert_eq!(a.verify("not a token"), Err(AuthError::Invalid));
    }

    #[test]
    fn secret_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(None, dir.path()).unwrap();
        let b = load_or_create_secret(None, dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let configured = "a-configured-key-of-32-bytes-xyz";
        assert_eq!(
            load_or_create_secret(Some(configured), dir.path()).unwrap(),
            configured.as_bytes()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(dir.path()), 0o700, "the data dir is private");
            assert_eq!(
                mode(&dir.path().join("jwt.secret")),
                0o600,
                "the key is private"
            );
        }
    }

    #[test]
    fn a_short_configured_secret_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_or_create_secret(Some("a"), dir.path()).unwrap_err();
        assert!(e.to_string().contains("at least 32"), "{e}");
        assert!(e.to_string().contains("openssl rand -hex 32"), "{e}");
    }
}
