//! Signing in and out: passwords checked off the runtime, lockout after repeated failures,
//! sessions with rotating refresh tokens (a reused one revokes its session), and the check every
//! authenticated request makes.
//!
//! Revocation is durable: a request's access token is checked against its session row in the
//! store, so neither a restart nor a Redis outage revives a signed-out session.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::keys::{is_api_key, ApiKey, ApiKeyStore};
use super::tokens::{
    new_opaque_token, opaque_hash, AccessTokens, ACCESS_TTL, INVITE_TTL, REFRESH_TTL,
};
use super::watch::SessionWatch;
use super::{password, AccountStore, Refreshed, Role, Session, User};
use crate::audit::{self, AuditStore, Record};
use crate::auth::AuthError;
use crate::store::{HotState, StoreError};

/// Failed sign-ins in a row before the account is locked.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// A signed-in staff user, as every authenticated request sees them (role from the store, not
/// the token, so a changed role applies at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The user (for an API key: the admin who made it; its actions are theirs).
    pub user: Uuid,
    pub org: Uuid,
    pub role: Role,
    /// The sign-in session (for an API key: the key's id).
    pub session: Uuid,
    /// Set when the request came with an API key rather than a sign-in.
    pub api_key: Option<Uuid>,
}

impl Staff {
    /// What a request with this API key may do.
    pub fn of_key(key: &ApiKey) -> Self {
        Self {
            user: key.created_by,
            org: key.organization_id,
            role: key.role,
            session: key.id,
            api_key: Some(key.id),
        }
    }
}

/// What signing in or refreshing hands out.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub session: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong email or password, a disabled account, or an unknown/used refresh token (one
    /// answer for all: no oracle).
    #[error("invalid credentials")]
    Invalid,
    #[error("too many failed sign-ins; try again later")]
    Locked { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an access token is refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("invalid or expired token")]
    Invalid,
    #[error("the session has ended")]
    Ended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Accounts {
    pub store: Arc<dyn AccountStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    /// Sign-ins, failed ones and sign-outs are recorded here.
    audit: Arc<dyn AuditStore>,
    pub tokens: AccessTokens,
    hot: Arc<dyn HotState>,
    /// Verified against when there is nothing to verify, to keep timings alike.
    dummy_hash: String,
    /// Sockets opened with a session, closed when it ends.
    pub watch: SessionWatch,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn AccountStore>,
        keys: Arc<dyn ApiKeyStore>,
        hot: Arc<dyn HotState>,
        audit: Arc<dyn AuditStore>,
        secret: &[u8],
    ) -> Self {
        Self {
            store,
            keys,
            audit,
            tokens: AccessTokens::new(secret),
            hot,
            dummy_hash: password::dummy_hash(),
            watch: SessionWatch::default(),
        }
    }

    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: Option<String>,
    ) -> Result<Issued, SignInError> {
        let now = Utc::now();
        let email = email.trim().to_lowercase();
        let Some(user) = self.store.user_by_email(&email).await? else {
            // The same work as a real check, and the same lockout after as many tries.
            verify(password, &self.dummy_hash).await;
            let key = format!("signin-unknown:{email}");
            let allowed = self
                .hot
                .rate_limit(&key, MAX_FAILED_LOGINS, LOCKOUT)
                .await
                .unwrap_or(true);
            return Err(if allowed {
                SignInError::Invalid
            } else {
                SignInError::Locked {
                    retry_after: LOCKOUT,
                }
            });
        };
        let failed = |locked: bool| {
            Record::new(user.organization_id, Some(user.id), "login_failed")
                .ip(ip.as_deref())
                .details(serde_json::json!({ "locked": locked }))
        };
        if let Some(until) = user.locked_until.filter(|t| *t > now) {
            verify(password, &self.dummy_hash).await;
            audit::record(self.audit.as_ref(), failed(true)).await;
            return Err(SignInError::Locked {
                retry_after: (until - now).to_std().unwrap_or(LOCKOUT),
            });
        }
        let hash = user.password_hash.as_deref().unwrap_or(&self.dummy_hash);
        let matches = verify(password, hash).await && user.password_hash.is_some();
        if !matches {
            let failures = user.failed_logins + 1;
            let (failures, locked) = if failures >= MAX_FAILED_LOGINS {
                tracing::warn!(user = %user.id, "account locked after repeated failed sign-ins");
                (
                    0,
                    Some(now + chrono::Duration::from_std(LOCKOUT).expect("fits")),
                )
            } else {
                (failures, None)
            };
            self.store
                .set_login_failures(user.id, failures, locked)
                .await?;
            audit::record(self.audit.as_ref(), failed(locked.is_some())).await;
            return Err(SignInError::Invalid);
        }
        if user.disabled_at.is_some() {
            audit::record(self.audit.as_ref(), failed(false)).await;
            return Err(SignInError::Invalid);
        }
        if user.failed_logins > 0 || user.locked_until.is_some() {
            self.store.set_login_failures(user.id, 0, None).await?;
        }
        let issued = self.start_session(&user, now, ip.clone()).await?;
        audit::record(
            self.audit.as_ref(),
            Record::new(user.organization_id, Some(user.id), "login").ip(ip.as_deref()),
        )
        .await;
        Ok(issued)
    }

    async fn start_session(
        &self,
        user: &User,
        now: DateTime<Utc>,
        ip: Option<String>,
    ) -> Result<Issued, SignInError> {
        let session = Session {
            id: Uuid::now_v7(),
            user_id: user.id,
            created_at: now,
            expires_at: now + chrono::Duration::from_std(REFRESH_TTL).expect("fits"),
            revoked_at: None,
            ip,
        };
        let refresh_token = new_opaque_token();
        self.store
            .create_session(&session, &opaque_hash(&refresh_token))
            .await?;
        Ok(Issued {
            access_token: self
                .tokens
                .issue(user.id, user.organization_id, user.role, session.id),
            refresh_token,
            expires_in: ACCESS_TTL.as_secs(),
            session: session.id,
        })
    }

    /// Spends a refresh token for a new pair. A token used before revokes its session (the
    /// thief's and the owner's copies both stop working).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Issued, SignInError> {
        let now = Utc::now();
        let next = new_opaque_token();
        match self
            .store
            .rotate_refresh(&opaque_hash(refresh_token), &opaque_hash(&next), now)
            .await?
        {
            Refreshed::Unknown => Err(SignInError::Invalid),
            Refreshed::Reused { session_id } => {
                tracing::warn!(session = %session_id, "a used refresh token was presented again; session revoked");
                self.session_ended(session_id).await;
                Err(SignInError::Invalid)
            }
            Refreshed::Rotated(session) => {
                let Some((session, user)) = self.store.session_user(session.id).await? else {
                    return Err(SignInError::Invalid);
                };
                if !session.is_live(now) || user.disabled_at.is_some() {
                    return Err(SignInError::Invalid);
                }
                Ok(Issued {
                    access_token: self.tokens.issue(
                        user.id,
                        user.organization_id,
                        user.role,
                        session.id,
                    ),
                    refresh_token: next,
                    expires_in: ACCESS_TTL.as_secs(),
                    session: session.id,
                })
            }
        }
    }

    /// Ends `staff`'s session: its access tokens, refresh token and sockets stop working.
    pub async fn sign_out(&self, staff: &Staff, ip: Option<&str>) -> Result<(), StoreError> {
        self.store.revoke_session(staff.session, Utc::now()).await?;
        self.session_ended(staff.session).await;
        audit::record(
            self.audit.as_ref(),
            Record::new(staff.org, Some(staff.user), "logout").ip(ip),
        )
        .await;
        Ok(())
    }

    /// The staff user an access token speaks for: valid signature, audience and kind, a live
    /// session, an enabled user still in the token's organization.
    pub async fn authenticate(&self, token: &str) -> Result<Staff, AccessError> {
        if is_api_key(token) {
            let key = self
                .keys
                .key_by_hash(&opaque_hash(token))
                .await?
                .ok_or(AccessError::Invalid)?;
            return Ok(Staff::of_key(&key));
        }
        let claims = self.tokens.verify(token).map_err(|e| match e {
            AuthError::Expired | AuthError::Invalid => AccessError::Invalid,
        })?;
        self.session_staff(claims.sid, Some(claims.org)).await
    }

    /// Whether a session still speaks for its user (a socket opened with it re-checks this).
    pub async fn session_staff(
        &self,
        session: Uuid,
        org: Option<Uuid>,
    ) -> Result<Staff, AccessError> {
        let Some((session, user)) = self.store.session_user(session).await? else {
            return Err(AccessError::Ended);
        };
        let live = session.is_live(Utc::now()) && user.disabled_at.is_none();
        if !live || org.is_some_and(|o| o != user.organization_id) {
            return Err(AccessError::Ended);
        }
        Ok(Staff {
            user: user.id,
            org: user.organization_id,
            role: user.role,
            session: session.id,
            api_key: None,
        })
    }

    /// A session (or an API key: its id) ended, after the store says so: its sockets close, at
    /// once on this node, and within a second on the others (each socket looks for this mark in
    /// the shared hot state every [`FAST_RECHECK`](super::watch::FAST_RECHECK), then confirms
    /// with the store). The mark is best effort and short-lived: the store is the truth, and
    /// every socket re-checks it every [`RECHECK`](super::watch::RECHECK) anyway.
    pub async fn session_ended(&self, session: Uuid) {
        self.watch.end_session(session);
        self.mark_ended(&ended_mark(session)).await;
    }

    /// Every session of `user` ended (the user was disabled), after the store says so.
    pub async fn user_ended(&self, user: Uuid) {
        self.watch.end_user(user);
        self.mark_ended(&ended_mark(user)).await;
    }

    async fn mark_ended(&self, mark: &str) {
        if let Err(e) = self.hot.revoke_token(mark, super::watch::MARK_TTL).await {
            tracing::warn!(error = %e, "cannot tell other nodes a session ended; they re-check the store");
        }
    }

    /// Whether the hot state says `session` (or `user`'s sessions) may have ended on another
    /// node: then confirm with [`Accounts::still_valid`]. A hot-state outage says no.
    pub async fn maybe_ended(&self, session: Uuid, user: Option<Uuid>) -> bool {
        for id in std::iter::once(session).chain(user) {
            match self.hot.is_revoked(&ended_mark(id)).await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "hot state unavailable; sessions re-checked in the store");
                    return false;
                }
            }
        }
        false
    }

    /// Whether what a socket was opened with still works: the sign-in session (in
    /// `org`), or the API key (`api_key`: the session is the key's id).
    pub async fn still_valid(
        &self,
        session: Uuid,
        org: Uuid,
        api_key: bool,
    ) -> Result<(), AccessError> {
        if api_key {
            match self.keys.working_key(session).await? {
                Some(k) if k.organization_id == org => Ok(()),
                _ => Err(AccessError::Ended),
            }
        } else {
            self.session_staff(session, Some(org)).await.map(|_| ())
        }
    }
}

/// A single-use link's token and when it stops working.
#[derive(Debug, Clone)]
pub struct Invite {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a link could not set a password.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("the link is invalid, used or expired")]
    Invalid,
    #[error(transparent)]
    Policy(#[from] password::PolicyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Accounts {
    /// A new single-use link for `user` to set a password; earlier ones stop working.
    pub async fn invite(&self, user: Uuid) -> Result<Invite, StoreError> {
        let token = new_opaque_token();
        let expires_at = Utc::now() + chrono::Duration::from_std(INVITE_TTL).expect("fits");
        self.store
            .create_invite(user, &opaque_hash(&token), expires_at)
            .await?;
        Ok(Invite { token, expires_at })
    }

    /// Spends a link to set the user's password (checked against the policy first; a refused
    /// password leaves the link usable).
    pub async fn accept_invite(&self, token: &str, password: &str) -> Result<User, InviteError> {
        let hash = opaque_hash(token);
        let now = Utc::now();
        let user = self
            .store
            .invite_user(&hash, now)
            .await?
            .ok_or(InviteError::Invalid)?;
        password::check_policy(password, &user.email)?;
        let password = password.to_owned();
        let phc = tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|_| InviteError::Invalid)?;
        self.store
            .accept_invite(&hash, &phc, now)
            .await?
            .ok_or(InviteError::Invalid)
    }
}

/// Verifies off the async runtime (argon2 takes tens of milliseconds of CPU).
async fn verify(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || password::verify(&password, &hash))
        .await
        .unwrap_or(false)
}

/// The hot-state mark that says a session, API key or user's sessions ended.
fn ended_mark(id: Uuid) -> String {
    format!("ended:{id}")
}
