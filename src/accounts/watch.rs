//! Sockets opened with a staff session, closed when the session ends. Signing out, a reused
//! refresh token and disabling the user end sessions through [`SessionWatch`], which cancels the
//! token every such socket on this node waits on (at once). Sockets on other nodes see the
//! mark [`Accounts::session_ended`](super::service::Accounts::session_ended) leaves in the shared
//! hot state within [`FAST_RECHECK`] (and confirm with the store); sessions that simply expire,
//! and everything during a hot-state outage, are caught by each socket re-checking its session in
//! the store every [`RECHECK`].

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often a staff socket re-checks its session in the store.
pub const RECHECK: Duration = Duration::from_secs(15);

/// How often a staff socket looks for its session's "ended" mark in the hot state.
pub const FAST_RECHECK: Duration = Duration::from_secs(1);

/// How long the mark stays: past it, every socket has re-checked the store.
pub const MARK_TTL: Duration = Duration::from_secs(2 * RECHECK.as_secs());

#[derive(Default)]
pub struct SessionWatch {
    /// Session → (its user, the token its sockets wait on, one count per watching socket).
    sessions: DashMap<Uuid, (Uuid, CancellationToken, Arc<()>)>,
}

/// A socket's hold on its session: `ended` is cancelled when the session ends.
pub struct Watched {
    pub ended: CancellationToken,
    _held: Arc<()>,
}

impl SessionWatch {
    /// What a socket opened with `session` waits on, as long as it holds the result.
    pub fn watch(&self, session: Uuid, user: Uuid) -> Watched {
        self.forget_unwatched();
        let entry = self
            .sessions
            .entry(session)
            .or_insert_with(|| (user, CancellationToken::new(), Arc::new(())));
        Watched {
            ended: entry.1.child_token(),
            _held: entry.2.clone(),
        }
    }

    /// The session ended: its sockets close.
    pub fn end_session(&self, session: Uuid) {
        if let Some((_, (_, token, _))) = self.sessions.remove(&session) {
            token.cancel();
        }
    }

    /// Every session of `user` ended (disabled).
    pub fn end_user(&self, user: Uuid) {
        self.sessions.retain(|_, (u, token, _)| {
            if *u == user {
                token.cancel();
                false
            } else {
                true
            }
        });
    }

    /// Forgets sessions whose sockets have all closed (swept as sockets open, once there are
    /// a few: the map stays as small as the sockets open).
    fn forget_unwatched(&self) {
        const SWEEP_AT: usize = 64;
        if self.sessions.len() >= SWEEP_AT {
            self.sessions
                .retain(|_, (_, _, held)| Arc::strong_count(held) > 1);
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_a_session_or_its_user_cancels_what_its_sockets_wait_on() {
        let w = SessionWatch::default();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (s1, s2, s3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let a1 = w.watch(s1, alice);
        let a1_again = w.watch(s1, alice);
        let a2 = w.watch(s2, alice);
        let b = w.watch(s3, bob);
        w.end_session(s1);
        assert!(a1.ended.is_cancelled() && a1_again.ended.is_cancelled());
        assert!(!a2.ended.is_cancelled() && !b.ended.is_cancelled());
        w.end_user(alice);
        assert!(a2.ended.is_cancelled());
        assert!(!b.ended.is_cancelled());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn sessions_nobody_watches_are_forgotten() {
        let w = SessionWatch::default();
        let user = Uuid::new_v4();
        let kept = w.watch(Uuid::new_v4(), user);
        for _ in 0..200 {
            drop(w.watch(Uuid::new_v4(), user));
        }
        assert!(w.len() <= 64, "{} sessions remembered", w.len());
        assert!(!kept.ended.is_cancelled());
        let _ = w.watch(Uuid::new_v4(), user);
        assert!(w
            .sessions
            .iter()
            .any(|e| Arc::strong_count(&e.value().2) > 1));
    }
}
