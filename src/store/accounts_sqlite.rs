//! [`AccountStore`] on the embedded SQLite store (account writes are rare: they take the write
//! connection directly, beside the group commit).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{opt_ts, parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::accounts::{AccountStore, NewUser, Organization, Refreshed, Role, Scope, Session, User};
use crate::hiring::{Page, PageRequest};

const USER_COLUMNS: &str = "u.id, u.organization_id, u.email, u.name, u.role, u.password_hash, \
                            u.failed_logins, u.locked_until, u.disabled_at, u.created_at";
const SESSION_COLUMNS: &str = "s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at, \
                               s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at, s.ip AS s_ip";

fn organization(r: &SqliteRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: parse_uuid(r.try_get("id")?)?,
        name: r.try_get("name")?,
        created_at: parse_ts(r.try_get("created_at")?)?,
    })
}

fn user(r: &SqliteRow) -> StoreResult<User> {
    let role: &str = r.try_get("role")?;
    Ok(User {
        id: parse_uuid(r.try_get("id")?)?,
        organization_id: parse_uuid(r.try_get("organization_id")?)?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        password_hash: r.try_get("password_hash")?,
        failed_logins: r.try_get::<i64, _>("failed_logins")? as u32,
        locked_until: opt_ts(r.try_get("locked_until")?)?,
        disabled_at: opt_ts(r.try_get("disabled_at")?)?,
        created_at: parse_ts(r.try_get("created_at")?)?,
    })
}

fn session(r: &SqliteRow) -> StoreResult<Session> {
    Ok(Session {
        id: parse_uuid(r.try_get("s_id")?)?,
        user_id: parse_uuid(r.try_get("s_user_id")?)?,
        created_at: parse_ts(r.try_get("s_created_at")?)?,
        expires_at: parse_ts(r.try_get("s_expires_at")?)?,
        revoked_at: opt_ts(r.try_get("s_revoked_at")?)?,
        ip: r.try_get("s_ip")?,
    })
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(organization)
            .transpose()
    }

    async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>> {
        sqlx::query("SELECT id, name, created_at FROM organizations WHERE lower(name) = lower(?)")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(organization)
            .transpose()
    }

    async fn create_organization(&self, name: &str) -> StoreResult<Organization> {
        let org = Organization {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            created_at: Utc::now(),
        };
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
            .bind(org.id.to_string())
            .bind(&org.name)
            .bind(ts(org.created_at))
            .execute(&self.writer)
            .await
            .map_err(|e| StoreError::unique(e, "an organization with this name"))?;
        Ok(org)
    }

    async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        let u = User {
            id: Uuid::now_v7(),
            organization_id: new.organization_id,
            email: new.email.trim().to_owned(),
            name: new.name.clone(),
            role: new.role,
            password_hash: new.password_hash.clone(),
            failed_logins: 0,
            locked_until: None,
            disabled_at: None,
            created_at: Utc::now(),
        };
        sqlx::query(
            "INSERT INTO users (id, organization_id, email, name, role, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(u.id.to_string())
        .bind(u.organization_id.to_string())
        .bind(&u.email)
        .bind(&u.name)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(ts(u.created_at))
        .execute(&self.writer)
        .await
        .map_err(|e| StoreError::unique(e, "a user with this email"))?;
        Ok(u)
    }

    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user)
        .transpose()
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE lower(u.email) = lower(?)"
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
        sqlx::query("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?")
            .bind(i64::from(failed))
            .bind(locked_until.map(ts))
            .bind(user.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn create_session(&self, s: &Session, refresh_hash: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, ip) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(s.user_id.to_string())
        .bind(ts(s.created_at))
        .bind(ts(s.expires_at))
        .bind(s.revoked_at.map(ts))
        .bind(&s.ip)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(refresh_hash)
        .bind(s.id.to_string())
        .bind(ts(s.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, id: Uuid) -> StoreResult<Option<(Session, User)>> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id = ?"
        ))
        .bind(id.to_string())
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
        // On the single write connection: no other rotation interleaves.
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT t.used_at, {SESSION_COLUMNS} FROM refresh_tokens t \
             JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ?"
        ))
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Refreshed::Unknown);
        };
        let s = session(&row)?;
        let used: Option<String> = row.try_get("used_at")?;
        if used.is_some() {
            sqlx::query("UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
                .bind(ts(now))
                .bind(s.id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Refreshed::Reused { session_id: s.id });
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?")
            .bind(ts(now))
            .bind(old_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(new_hash)
        .bind(s.id.to_string())
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Refreshed::Rotated(s))
    }

    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
            .bind(ts(now))
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn users_of(&self, scope: Scope, page: PageRequest) -> StoreResult<Page<User>> {
        let org = scope.org().to_string();
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE organization_id = ?")
            .bind(&org)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.organization_id = ? \
             ORDER BY u.created_at, u.id LIMIT ? OFFSET ?"
        ))
        .bind(&org)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(user).collect::<StoreResult<Vec<_>>>()?;
        Ok(page.of(items, total as u64))
    }

    async fn user_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = ? AND u.organization_id = ?"
        ))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .fetch_optional(&self.writer)
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
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET role = coalesce(?, role), disabled_at = CASE ? \
             WHEN 1 THEN coalesce(disabled_at, ?) WHEN 0 THEN NULL ELSE disabled_at END \
             WHERE id = ? AND organization_id = ?",
        )
        .bind(role.map(Role::as_str))
        .bind(disabled.map(i64::from))
        .bind(ts(now))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        if disabled == Some(true) {
            sqlx::query(
                "UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE user_id = ?",
            )
            .bind(ts(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.user_in(scope, id).await
    }

    async fn create_invite(
        &self,
        user: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = ts(Utc::now());
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE invites SET used_at = ? WHERE user_id = ? AND used_at IS NULL")
            .bind(&now)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO invites (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(&now)
        .bind(ts(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invite_user(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM invites i JOIN users u ON u.id = i.user_id \
             WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ? \
             AND u.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.writer)
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
        let mut tx = self.writer.begin().await?;
        let spent = sqlx::query(
            "UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL \
             AND expires_at > ? RETURNING user_id",
        )
        .bind(ts(now))
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = spent else {
            return Ok(None);
        };
        let user_id: String = row.try_get("user_id")?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL \
             WHERE id = ? AND disabled_at IS NULL",
        )
        .bind(password_hash)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        self.user(parse_uuid(&user_id)?).await
    }
}
