//! [`NoteStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::notes::{Author, InterviewNote, NoteKind, NoteStore};

fn note(r: &PgRow) -> StoreResult<InterviewNote> {
    let kind: &str = r.try_get("kind")?;
    Ok(InterviewNote {
        id: r.try_get("id")?,
        interview_id: r.try_get("interview_id")?,
        kind: NoteKind::parse(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("note kind {kind:?}")))?,
        text: r.try_get("text")?,
        author_id: r.try_get("author_id")?,
        author: r.try_get("author")?,
        created_at: r.try_get("created_at")?,
    })
}

#[async_trait]
impl NoteStore for PgStore {
    async fn add_note_in(
        &self,
        scope: Scope,
        id: Uuid,
        author: &Author,
        kind: NoteKind,
        text: &str,
    ) -> StoreResult<Option<InterviewNote>> {
        // Postgres keeps microseconds: the note says what was stored.
        let now: DateTime<Utc> = Utc::now();
        let row = sqlx::query(
            "INSERT INTO interview_notes (id, interview_id, kind, text, author_id, author, \
             created_at) SELECT $1, id, $2, $3, $4, $5, $6 FROM interviews \
             WHERE id = $7 AND organization_id = $8 \
             RETURNING id, interview_id, kind, text, author_id, author, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(kind.as_str())
        .bind(text)
        .bind(author.id)
        .bind(author.name.as_deref())
        .bind(now)
        .bind(id)
        .bind(scope.org())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(note).transpose()
    }

    async fn notes_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Vec<InterviewNote>>> {
        let found = sqlx::query("SELECT 1 FROM interviews WHERE id = $1 AND organization_id = $2")
            .bind(id)
            .bind(scope.org())
            .fetch_optional(&self.pool)
            .await?;
        if found.is_none() {
            return Ok(None);
        }
        sqlx::query(
            "SELECT id, interview_id, kind, text, author_id, author, created_at \
             FROM interview_notes WHERE interview_id = $1 ORDER BY created_at, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(note)
        .collect::<StoreResult<Vec<_>>>()
        .map(Some)
    }
}
