//! [`AccountStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::accounts::{AccountStore, NewUser, Organization, Refreshed, Role, Scope, Session, User};
use crate::hiring::{Page, PageRequest};

const USER_COLUMNS: &str = "u.id, u.organization_id, u.email, u.name, u.role, u.password_hash, \
                            u.failed_logins, u.locked_until, u.disabled_at, u.created_at";
const SESSION_COLUMNS: &str = "s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at, \
                               s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at, s.ip AS s_ip";

fn organization(r: &PgRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
    })
}

fn user(r: &PgRow) -> StoreResult<User> {
    let role: &str = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        organization_id: r
            .try_get::<Option<Uuid>, _>("organization_id")?
            .ok_or_else(|| StoreError::Corrupt("a staff user without an organization".into()))?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        password_hash: r.try_get("password_hash")?,
        failed_logins: r.try_get::<i32, _>("failed_logins")? as u32,
        locked_until: r.try_get("locked_until")?,
        disabled_at: r.try_get("disabled_at")?,
        created_at: r.try_get("created_at")?,
    })
}

fn session(r: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        id: r.try_get("s_id")?,
        user_id: r.try_get("s_user_id")?,
        created_at: r.try_get("s_created_at")?,
        expires_at: r.try_get("s_expires_at")?,
        revoked_at: r.try_get("s_revoked_at")?,
        ip: r.try_get("s_ip")?,
    })
}

/// Staff roles only: a `candidate` row of the older schema is not an account.
const STAFF: &str = "u.role IN ('admin', 'recruiter', 'viewer')";

#[async_trait]
impl AccountStore for PgStore {
    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(organization)
            .transpose()
    }

    async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>> {
        sqlx::query("SELECT id, name, created_at FROM organizations WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(organization)
            .transpose()
    }

    async fn create_organization(&self, name: &str) -> StoreResult<Organization> {
        let row = sqlx::query(
            "INSERT INTO organizations (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, "an organization with this name"))?;
        organization(&row)
    }

    async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users AS u (id, organization_id, email, name, role, password_hash) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING u.id, u.organization_id, u.email, u.name, u.role, u.password_hash, \
                       u.failed_logins, u.locked_until, u.disabled_at, u.created_at",
        )
        .bind(Uuid::now_v7())
        .bind(new.organization_id)
        .bind(new.email.trim())
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, "a user with this email"))?;
        user(&row)
    }

    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 AND {STAFF}"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE lower(u.email) = lower($1) AND {STAFF}"
        ))
        .bind(email.trim())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn set_login_failures(
        &self,
        user: Uuid,
        failed: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(failed as i32)
            .bind(locked_until)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_session(&self, s: &Session, refresh_hash: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, ip) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .bind(&s.ip)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(refresh_hash)
        .bind(s.id)
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, id: Uuid) -> StoreResult<Option<(Session, User)>> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND {STAFF}"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((session(&r)?, user(&r)?))).transpose()
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Refreshed> {
        let mut tx = self.pool.begin().await?;
        // The token's row is locked: two presentations of one token cannot both rotate it.
        let row = sqlx::query(&format!(
            "SELECT t.used_at, {SESSION_COLUMNS} FROM refresh_tokens t \
             JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1 FOR UPDATE OF t"
        ))
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Refreshed::Unknown);
        };
        let s = session(&row)?;
        let used: Option<DateTime<Utc>> = row.try_get("used_at")?;
        if used.is_some() {
            sqlx::query("UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
                .bind(now)
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Refreshed::Reused { session_id: s.id });
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(old_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(new_hash)
        .bind(s.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Refreshed::Rotated(s))
    }

    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn users_of(&self, scope: Scope, page: PageRequest) -> StoreResult<Page<User>> {
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM users u WHERE u.organization_id = $1 AND {STAFF}"
        ))
        .bind(scope.org())
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.organization_id = $1 AND {STAFF} \
             ORDER BY u.created_at, u.id LIMIT $2 OFFSET $3"
        ))
        .bind(scope.org())
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(user).collect::<StoreResult<Vec<_>>>()?;
        Ok(page.of(items, total as u64))
    }

    async fn user_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 AND u.organization_id = $2 \
             AND {STAFF}"
        ))
        .bind(id)
        .bind(scope.org())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn update_user(
        &self,
        scope: Scope,
        id: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE users AS u SET role = coalesce($3, u.role), disabled_at = CASE $4::boolean \
             WHEN true THEN coalesce(u.disabled_at, $5) WHEN false THEN NULL ELSE u.disabled_at END \
             WHERE u.id = $1 AND u.organization_id = $2 AND {STAFF} RETURNING {USER_COLUMNS}"
        ))
        .bind(id)
        .bind(scope.org())
        .bind(role.map(Role::as_str))
        .bind(disabled)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if disabled == Some(true) {
            sqlx::query(
                "UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE user_id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        user(&row).map(Some)
    }

    async fn create_invite(
        &self,
        user: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE invites SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO invites (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invite_user(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM invites i JOIN users u ON u.id = i.user_id \
             WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 \
             AND u.disabled_at IS NULL AND {STAFF}"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn accept_invite(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.pool.begin().await?;
        let spent: Option<Uuid> = sqlx::query_scalar(
            "UPDATE invites SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = spent else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "UPDATE users AS u SET password_hash = $1, failed_logins = 0, locked_until = NULL \
             WHERE u.id = $2 AND u.disabled_at IS NULL RETURNING {USER_COLUMNS}"
        ))
        .bind(password_hash)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        tx.commit().await?;
        user(&row).map(Some)
    }
}
