//! [`NoteStore`] on the embedded SQLite store.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::notes::{Author, InterviewNote, NoteKind, NoteStore};

fn note(r: &SqliteRow) -> StoreResult<InterviewNote> {
    let kind: &str = r.try_get("kind")?;
    Ok(InterviewNote {
        id: parse_uuid(r.try_get("id")?)?,
        interview_id: parse_uuid(r.try_get("interview_id")?)?,
        kind: NoteKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("note kind {kind:?}")))?,
        text: r.try_get("text")?,
        author_id: r
            .try_get::<Option<&str>, _>("author_id")?
            .map(parse_uuid)
            .transpose()?,
        author: r.try_get("author")?,
        created_at: parse_ts(r.try_get("created_at")?)?,
    })
}

#[async_trait]
impl NoteStore for SqliteStore {
    async fn add_note_in(
        &self,
        scope: Scope,
        id: Uuid,
        author: &Author,
        kind: NoteKind,
        text: &str,
    ) -> StoreResult<Option<InterviewNote>> {
        let (note_id, now) = (Uuid::now_v7(), Utc::now());
        let added = sqlx::query(
            "INSERT INTO interview_notes (id, interview_id, kind, text, author_id, author, \
             created_at) SELECT ?, id, ?, ?, ?, ?, ? FROM interviews \
             WHERE id = ? AND organization_id = ?",
        )
        .bind(note_id.to_string())
        .bind(kind.as_str())
        .bind(text)
        .bind(author.id.map(|u| u.to_string()))
        .bind(author.name.as_deref())
        .bind(ts(now))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok((added == 1).then(|| InterviewNote {
            id: note_id,
            interview_id: id,
            kind,
            text: text.to_owned(),
            author_id: author.id,
            author: author.name.clone(),
            // As stored (to the millisecond).
            created_at: parse_ts(&ts(now)).unwrap_or(now),
        }))
    }

    async fn notes_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Vec<InterviewNote>>> {
        let found = sqlx::query("SELECT 1 FROM interviews WHERE id = ? AND organization_id = ?")
            .bind(id.to_string())
            .bind(scope.org().to_string())
            .fetch_optional(&self.pool)
            .await?;
        if found.is_none() {
            return Ok(None);
        }
        sqlx::query(
            "SELECT id, interview_id, kind, text, author_id, author, created_at \
             FROM interview_notes WHERE interview_id = ? ORDER BY created_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(note)
        .collect::<StoreResult<Vec<_>>>()
        .map(Some)
    }
}
