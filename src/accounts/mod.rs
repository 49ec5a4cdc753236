//! Recruiter accounts: organizations, staff users with roles, passwords, and sign-in sessions
//! with rotating refresh tokens.
//!
//! - [`password`]: argon2id hashing and the password policy.
//! - [`tokens`]: access tokens (15-minute JWTs) and opaque refresh tokens.
//! - [`service`]: sign-in, refresh (with reuse detection), sign-out, lockout.
//! - [`keys`]: API keys (service accounts with a role, stored hashed, revocable).
//! - [`organization`]: an organization's settings (retention, defaults for its interviews).
//! - [`watch`]: sockets opened with a staff session, closed when it ends.
//! - [`AccountStore`]: what they need from the durable store (SQLite and Postgres implement it).
//!
//! Every staff user belongs to one organization; what they can reach is scoped to it by the
//! principal the HTTP layer extracts (`http::api::principal`), never per handler.

pub mod keys;
pub mod organization;
pub mod password;
pub mod service;
pub mod tokens;
pub mod watch;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hiring::{Page, PageRequest};
use crate::store::StoreResult;

/// The built-in organization that owns interviews made with `viva interview create` (and every
/// interview made before organizations existed).
pub const DEFAULT_ORG: Uuid = Uuid::from_u128(1);

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 320;

/// Whether `email` (trimmed) looks like an address: something, `@`, something, no spaces, at
/// most [`MAX_EMAIL`]. Delivery is not checked (there is none).
pub fn is_plausible_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL
        && !email.contains(char::is_whitespace)
        && email
            .find('@')
            .is_some_and(|at| at > 0 && at + 1 < email.len())
}

/// What a staff user may do, from least to most.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Also creates and cancels.
    Recruiter,
    /// Also manages users, keys and settings.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Recruiter => "recruiter",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "viewer" => Self::Viewer,
            "recruiter" => Self::Recruiter,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    /// Whether this role includes what `needed` may do.
    pub fn includes(self, needed: Role) -> bool {
        self >= needed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    /// argon2id PHC string; `None` until the user has set a password.
    pub password_hash: Option<String>,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub organization_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
}

/// One sign-in. Its refresh tokens form one family: presenting a used one revokes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub ip: Option<String>,
}

impl Session {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// It was current: it is spent, and the new one replaces it in its session.
    Rotated(Session),
    /// It had been used before (stolen, or replayed): its whole session is now revoked.
    Reused { session_id: Uuid },
    /// No such token.
    Unknown,
}

/// Accounts in the durable store. Emails are unique regardless of case
/// ([`crate::store::StoreError::Conflict`] on a duplicate).
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>>;
    async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>>;
    async fn create_organization(&self, name: &str) -> StoreResult<Organization>;
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user(&self, id: Uuid) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// Records failed sign-ins in a row and, at the limit, until when the account is locked.
    async fn set_login_failures(
        &self,
        user: Uuid,
        failed: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Stores a new session with its first refresh token (by hash).
    async fn create_session(&self, session: &Session, refresh_hash: &str) -> StoreResult<()>;
    /// A session and its user (one lookup per authenticated request).
    async fn session_user(&self, session: Uuid) -> StoreResult<Option<(Session, User)>>;
    /// Spends a refresh token (by hash) and stores its successor, atomically; a token used
    /// before revokes its session instead.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Refreshed>;
    async fn revoke_session(&self, session: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// The organization's staff, oldest first.
    async fn users_of(&self, scope: Scope, page: PageRequest) -> StoreResult<Page<User>>;
    /// A user of the organization.
    async fn user_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<User>>;
    /// Changes a user's role and whether they are disabled (`None`: unchanged); `None` if there
    /// is no such user in the organization. Disabling ends every session of theirs.
    async fn update_user(
        &self,
        scope: Scope,
        id: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
    /// Stores a single-use link (by hash) for the user to set a password; earlier unused ones
    /// stop working.
    async fn create_invite(
        &self,
        user: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The user a link is for, if it is unused, unexpired and its user enabled.
    async fn invite_user(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<User>>;
    /// Spends a link: sets the user's password (and clears a lockout) if the link is unused,
    /// unexpired and its user enabled; `None` otherwise.
    async fn accept_invite(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
}

/// The organization a request may read and change. Store queries of organization-owned
/// resources take a `Scope`, and a `Scope` comes only from a signed-in staff user
/// ([`Scope::of`]) or, named as such, from the operator's command line
/// ([`Scope::operator`]): no handler can reach another organization's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(Uuid);

impl Scope {
    pub fn of(staff: &service::Staff) -> Self {
        Self(staff.org)
    }

    /// The server operator acting on an organization (`viva` commands).
    pub fn operator(org: Uuid) -> Self {
        Self(org)
    }

    pub fn org(self) -> Uuid {
        self.0
    }
}
