//! Integrity events from the candidate's page (`client_event`): stamped on the server clock and
//! stored off the actor's loop, only for interviews made with their organization's
//! `integrity_signals` on, at most [`MAX_CLIENT_EVENTS`] per interview. They are for human review
//! (`crate::integrity`) and change nothing in the interview.

use chrono::Utc;

use super::Actor;
use crate::integrity::{ClientSignal, MAX_CLIENT_EVENTS};
use crate::protocol::ClientEventKind;

impl Actor {
    pub(super) fn on_client_event(&mut self, kind: ClientEventKind, chars: Option<u32>) {
        if self.conv.interview.settings.integrity_signals != Some(true) {
            return;
        }
        if self.client_events >= MAX_CLIENT_EVENTS {
            if self.client_events == MAX_CLIENT_EVENTS {
                tracing::info!(interview = %self.id, "client events past the most kept; dropped");
                self.client_events += 1;
            }
            return;
        }
        self.client_events += 1;
        let n = self.client_events;
        let Some(started) = self.conv.interview.started_at else {
            return;
        };
        let signal = ClientSignal {
            kind,
            at_ms: (Utc::now() - started).num_milliseconds().max(0),
            chars: chars.filter(|_| kind == ClientEventKind::Paste),
        };
        let (store, id) = (self.deps.store.clone(), self.id);
        // Best effort, like usage: an event lost to a crash loses a review hint, nothing else.
        tokio::spawn(async move {
            if let Err(e) = store.add_client_signal(id, n, &signal).await {
                tracing::warn!(interview = %id, error = %e, "client event not stored");
            }
        });
    }
}
