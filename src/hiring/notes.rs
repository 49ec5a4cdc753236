//! The hiring team's notes on an interview, and its steering actions (suggested questions,
//! ends from the monitor): stored, served by `GET /v1/interviews/{id}/notes`, replayed to
//! watchers after their snapshot, never shown to the candidate.

use async_trait::async_trait;
use uuid::Uuid;

use crate::accounts::Scope;
pub use crate::protocol::monitor::{InterviewNote, NoteKind};
use crate::store::StoreResult;

/// Who wrote a note: a staff member (id and name as shown), or nobody in particular (a
/// monitor token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Author {
    pub id: Option<Uuid>,
    pub name: Option<String>,
}

/// Notes in the durable store, reached through an organization's scope.
#[async_trait]
pub trait NoteStore: Send + Sync + 'static {
    /// Adds a note to interview `id`: `None` if it is not in the scope.
    async fn add_note_in(
        &self,
        scope: Scope,
        id: Uuid,
        author: &Author,
        kind: NoteKind,
        text: &str,
    ) -> StoreResult<Option<InterviewNote>>;
    /// The interview's notes, oldest first: `None` if it is not in the scope.
    async fn notes_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Vec<InterviewNote>>>;
}
