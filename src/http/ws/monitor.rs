//! `GET /v1/interviews/{id}/monitor`: watch an interview live, read-only, with a monitor token
//! or a staff access token of the interview's organization (then the socket lives as long as
//! the staff session: signing out closes it with 4001). Local interviews attach to their actor;
//! one another node drives is relayed from the shared live stream. At most `VIVA_MAX_MONITORS`
//! per interview on a node. `?after_seq=N`: a reconnecting dashboard gets the events after `N`
//! (or a `resync` snapshot when they are no longer all held), then live ones.

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::principal::{self, Authorized, StaffSession};
use super::socket::{self, Inbound, Reader, Refusal, Stop};
use super::{attach_refusal, on_actor, upgrade, ClientSlot};
use crate::accounts::Role;
use crate::hiring::notes::{Author, NoteKind};
use crate::http::api::interview_notes::{add, author_of, checked};
use crate::http::AppState;
use crate::interview::handle::Joining;
use crate::interview::handle::OUTBOUND_QUEUE;
use crate::interview::remote::{Mail, MAIL_TTL};
use crate::interview::{AttachError, Outbound};
use crate::protocol::monitor::WatcherView;
use crate::protocol::{close, ConnectionMessage, MonitorMessage};
use crate::protocol::{MAX_NOTE_CHARS, MAX_SUGGESTION_CHARS};

/// A staff member's live view of an interview (WebSocket; docs/protocol.md): a monitor token, a
/// staff access token or an API key, as the `Sec-WebSocket-Protocol` `bearer.<token>`.
#[utoipa::path(get, path = "/v1/interviews/{id}/monitor", tag = "streams",
    params(
        ("id" = uuid::Uuid, Path, description = "The interview"),
        ("listen" = Option<String>, Query, description = "`1`: listen in — binary frames of both sides' audio, each one byte of channel (0 the candidate, 1 the interviewer) then the Opus packet. Recruiters and admins only (a viewer is closed with 4003)"),
        ("after_seq" = Option<u64>, Query, description = "The last `seq` the watcher has: the events after it are replayed (or a `resync` snapshot is sent when they are no longer all held) before live ones. Without it: a snapshot"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol `viva.v1` (docs/protocol.md). A refused one (credentials, `Origin`, the interview) is closed with the protocol's close code and reason, which browsers can read"),
        (status = 503, description = "Too many connections (`Retry-After`)", body = crate::http::error::ErrorBody),
    ),
    security(("bearer" = []), ("monitor" = [])))]
pub async fn monitor(
    State(app): State<AppState>,
    slot: ClientSlot,
    auth: Authorized<principal::Monitor>,
    query: Result<Query<MonitorQuery>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Response {
    let verdict = auth.verdict.and_then(|p| {
        let Ok(Query(q)) = query else {
            return Err((close::BAD_MESSAGE, "after_seq: a whole number"));
        };
        let listen = match q.listen.as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(_) => return Err((close::BAD_MESSAGE, "listen: 1 or 0")),
        };
        let role = p.role.unwrap_or(Role::Viewer);
        if listen && !role.includes(Role::Recruiter) {
            return Err((close::FORBIDDEN, "a viewer may not listen in"));
        }
        Ok(Watch {
            interview: p.interview,
            staff: p.staff,
            role,
            org: p.org,
            after: q.after_seq,
            listen,
        })
    });
    upgrade(app, ws, slot, move |app, socket| {
        session(app, socket, verdict)
    })
}

/// What a monitor asks for besides its credentials.
#[derive(Debug, serde::Deserialize)]
pub struct MonitorQuery {
    after_seq: Option<u64>,
    listen: Option<String>,
}

/// An admitted watcher.
struct Watch {
    interview: Uuid,
    staff: Option<StaffSession>,
    role: Role,
    org: Uuid,
    after: Option<u64>,
    listen: bool,
}

async fn session(app: AppState, socket: WebSocket, verdict: Result<Watch, Refusal>) {
    let (mut sink, stream) = socket.split();
    let mut reader = Reader::new(stream, app.limits.idle_timeout);
    let Watch {
        interview: id,
        staff,
        role,
        org,
        after,
        listen,
    } = match verdict {
        Ok(v) => v,
        Err(refusal) => return socket::refuse(&mut sink, &mut reader, Stop::Refuse(refusal)).await,
    };
    let Some(_seat) = app.monitors.take(id) else {
        let stop = Stop::Refuse((close::POLICY, "too many monitors"));
        return socket::refuse(&mut sink, &mut reader, stop).await;
    };
    // Who this is, as the other watchers see them, and the notes it is shown after the
    // snapshot. (A note stored between this read and the attach is shown live as well; the
    // console keeps each note once, by id.)
    let author = author_of(&app, staff.map(|s| s.user)).await;
    let scope = crate::accounts::Scope::operator(org);
    let notes = match app.notes.notes_in(scope, id).await {
        Ok(n) => n.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(interview = %id, error = %e, "cannot read an interview's notes");
            let stop = Stop::Refuse((close::TRY_AGAIN, "cannot read the interview; reconnect"));
            return socket::refuse(&mut sink, &mut reader, stop).await;
        }
    };
    let who = WatcherView {
        name: author
            .name
            .clone()
            .unwrap_or_else(|| "monitor link".to_owned()),
        role,
        listening: listen,
    };
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let attached = match on_actor(&app, id, |h| {
        let joining = Joining {
            tx: tx.clone(),
            after,
            who: who.clone(),
            notes: notes.clone(),
        };
        async move { h.monitor(joining).await }
    })
    .await
    {
        // Another node drives it: watch through the shared live stream and feed.
        Err(AttachError::Elsewhere) => {
            crate::http::relay::relay(app.clone(), id, tx.clone(), notes, listen)
                .await
                .map(|()| None)
        }
        other => other.map(Some),
    };
    let watching = match attached {
        Ok(w) => w,
        Err(e) => {
            return socket::refuse(&mut sink, &mut reader, Stop::Refuse(attach_refusal(e))).await
        }
    };
    let closer = tx.downgrade();
    drop(tx);
    let mut writer = tokio::spawn(socket::write_loop(sink, rx));
    let watched = staff.map(|s| app.accounts.watch.watch(s.session, s.user));
    let session_ended = async {
        match (staff, &watched) {
            (Some(s), Some(w)) => super::staff::session_end(&app, s, &w.ended).await,
            _ => std::future::pending().await,
        }
    };
    // What a monitor sends is steering (a recruiter's), read within the limits. Browsers
    // answer the writer's pings, so one that stops answering goes idle and is closed.
    let steer = Steerer {
        id,
        org,
        role,
        staff,
        author,
        out: closer.clone(),
    };
    tokio::select! {
        _ = &mut writer => {}
        stop = async {
            tokio::select! {
                stop = steer.read(&app, &mut reader) => stop,
                refusal = session_ended => Stop::Refuse(refusal),
            }
        } => {
            if let Stop::Refuse((code, reason)) | Stop::Unreadable((code, reason)) = stop {
                tracing::info!(interview = %id, code, reason, "closing monitor");
                if let Some(tx) = closer.upgrade() {
                    let _ = tx.try_send(Outbound::Close(code, reason));
                }
            }
            if tokio::time::timeout(socket::CLOSE_DRAIN, &mut writer).await.is_err() {
                writer.abort();
            }
            // Until the client's close: dropping a socket with unread frames resets it, and the
            // close (with its reason) could be lost.
            reader.linger(matches!(stop, Stop::Unreadable(_))).await;
        }
    }
    if let Some((handle, watcher)) = watching {
        handle.unwatch(watcher).await;
    }
}

/// A watcher's steering (docs/protocol.md, "Steering"): a recruiter's suggested questions,
/// notes and ends; a viewer's are refused (4003), a malformed message is 4002.
struct Steerer {
    id: Uuid,
    org: Uuid,
    role: Role,
    staff: Option<StaffSession>,
    author: Author,
    out: mpsc::WeakSender<Outbound>,
}

impl Steerer {
    async fn read<S>(&self, app: &AppState, reader: &mut Reader<S>) -> Stop
    where
        S: futures_util::Stream<Item = Result<axum::extract::ws::Message, axum::Error>> + Unpin,
    {
        loop {
            let text = match reader.next().await {
                Ok(Inbound::Text(t)) => t,
                Ok(Inbound::Binary(_)) => {
                    return Stop::Refuse((close::BAD_MESSAGE, "a monitor sends no audio"))
                }
                Err(stop) => return stop,
            };
            let Ok(msg) = serde_json::from_str::<MonitorMessage>(&text) else {
                return Stop::Refuse((close::BAD_MESSAGE, "unknown or malformed message"));
            };
            if !self.role.includes(Role::Recruiter) {
                return Stop::Refuse((close::FORBIDDEN, "a viewer may only watch"));
            }
            let (action, outcome) = match msg {
                MonitorMessage::SuggestQuestion { text } => {
                    ("suggest_question", self.suggest(app, text).await)
                }
                MonitorMessage::End { reason } => ("end", self.end(app, reason).await),
                MonitorMessage::Note { text } => ("note", self.note(app, text).await),
            };
            let ack = ConnectionMessage::Steered {
                action: action.into(),
                accepted: outcome.is_ok(),
                reason: outcome.err(),
            };
            if let Some(tx) = self.out.upgrade() {
                let json = serde_json::to_string(&ack).expect("protocol types serialise");
                let _ = tx.try_send(Outbound::Text(json.into()));
            }
        }
    }

    /// The audit entry for an action of this watcher (a monitor token acts as nobody in
    /// particular: its entry has no user).
    fn record<'a>(&self, action: &'a str) -> crate::audit::Record<'a> {
        let actor = self.staff.map(|s| s.user);
        let key = self.staff.filter(|s| s.api_key).map(|s| s.session);
        crate::audit::Record::new(self.org, actor, action).via_key(key)
    }

    fn scope(&self) -> crate::accounts::Scope {
        crate::accounts::Scope::operator(self.org)
    }

    async fn note(&self, app: &AppState, text: String) -> Result<(), String> {
        let text = checked(&text, MAX_NOTE_CHARS).map_err(told)?;
        let entry = self.record("interview.note_added");
        let author = self.author.clone();
        add(
            app,
            self.scope(),
            self.id,
            author,
            NoteKind::Note,
            &text,
            Some(entry),
        )
        .await
        .map(|_| ())
        .map_err(told)
    }

    async fn suggest(&self, app: &AppState, text: String) -> Result<(), String> {
        let text = checked(&text, MAX_SUGGESTION_CHARS).map_err(told)?;
        match app.registry.get(self.id) {
            Some(handle) => {
                if !handle.suggest(text.clone()).await {
                    return Err(format!(
                        "not taken: the interview is ending, or holds {} suggestions already",
                        crate::interview::actor::MAX_SUGGESTIONS
                    ));
                }
            }
            None => self.suggest_elsewhere(app, &text).await?,
        }
        let entry = self.record("interview.question_suggested");
        let (author, kind) = (self.author.clone(), NoteKind::SuggestedQuestion);
        add(app, self.scope(), self.id, author, kind, &text, Some(entry))
            .await
            .map(|_| ())
            .map_err(told)
    }

    /// A suggestion for an interview another node drives: left in the hot state for that node,
    /// which takes it at its next lease renewal (within a few seconds).
    async fn suggest_elsewhere(&self, app: &AppState, text: &str) -> Result<(), String> {
        match app.store.get_interview(self.id).await {
            Ok(Some(i)) if i.status == crate::store::InterviewStatus::InProgress => {}
            Ok(_) => return Err("the interview is not running".into()),
            Err(e) => {
                tracing::warn!(interview = %self.id, error = %e, "cannot read an interview to steer");
                return Err("cannot reach the interview now; suggest again shortly".into());
            }
        }
        let mail = Mail::Suggest {
            text: text.to_owned(),
        };
        app.hot
            .send_mail(self.id, &mail.to_json(), MAIL_TTL)
            .await
            .map_err(|e| {
                tracing::warn!(interview = %self.id, error = %e, "cannot pass a suggestion on");
                "cannot reach the node driving the interview; suggest again shortly".to_owned()
            })
    }

    async fn end(&self, app: &AppState, reason: Option<String>) -> Result<(), String> {
        let entry = self.record("interview.cancelled");
        let said = reason.clone().unwrap_or_default();
        crate::http::api::interview_cancel::end_interview(
            app,
            self.scope(),
            self.id,
            reason,
            entry,
        )
        .await
        .map_err(told)?;
        // On the record beside the notes (the audit entry is the cancel's).
        let (author, kind) = (self.author.clone(), NoteKind::End);
        if let Err(e) = add(app, self.scope(), self.id, author, kind, said.trim(), None).await {
            tracing::warn!(interview = %self.id, error = %e, "cannot note an end from the monitor");
        }
        Ok(())
    }
}

/// What a watcher is told of an error: the API's message; an internal one is logged here and
/// said only as "internal error".
fn told(e: crate::http::error::ApiError) -> String {
    use crate::http::error::ApiError;
    if let ApiError::Internal(source) | ApiError::Unavailable(source) = &e {
        tracing::error!(error = %source, "steering failed");
    }
    e.to_string()
}
