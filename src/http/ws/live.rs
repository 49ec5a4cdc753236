//! `GET /v1/live`: the organization's running interviews (docs/protocol.md, "The live
//! board"): a `snapshot`, then `started`, `update`, `level` and `ended` as they happen. Live
//! statuses come from this node's actors (the board) at once; every [`RELIST`] the store is read
//! again, so interviews another node drives appear and leave too, with the statuses that node
//! shares through Redis.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::ws::{Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::socket::{self, Inbound, Reader, Refusal, Stop};
use super::staff::StaffSocket;
use super::{upgrade, ClientSlot};
use crate::accounts::Scope;
use crate::hiring::interviews::{InterviewFilter, InterviewView};
use crate::hiring::PageRequest;
use crate::http::AppState;
use crate::interview::board::BoardEvent;
use crate::interview::Outbound;
use crate::protocol::close;
use crate::protocol::live::{LiveCard, LiveMessage, LiveStatus};
use crate::store::{InterviewStatus, StoreResult};

/// How often the running interviews are listed again from the store (and other nodes'
/// statuses read).
pub const RELIST: Duration = Duration::from_secs(2);
/// Most interviews on one board.
const MAX_CARDS: u32 = 1000;
/// Messages a board may have unsent before it counts as not reading (and is closed).
const QUEUE: usize = 512;

/// The organization's running interviews, live (WebSocket; docs/protocol.md "The live
/// board"): a staff access token or an API key (any role) as the `Sec-WebSocket-Protocol`
/// `bearer.<token>`. Signing out closes it with 4001.
#[utoipa::path(get, path = "/v1/live", tag = "streams",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol `viva.v1`: a `snapshot` of the running interviews, then `started`, `update`, `level`, `ended` (docs/protocol.md). Refused credentials or `Origin` are closed with 4001 / 4003"),
        (status = 503, description = "Too many connections (`Retry-After`)", body = crate::http::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn live(
    State(app): State<AppState>,
    slot: ClientSlot,
    auth: StaffSocket,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(app, ws, slot, move |app, socket| {
        session(app, socket, auth.verdict)
    })
}

async fn session(
    app: AppState,
    socket: WebSocket,
    verdict: Result<(super::principal::StaffSession, crate::accounts::Role), Refusal>,
) {
    let (mut sink, stream) = socket.split();
    let mut reader = Reader::new(stream, app.limits.idle_timeout);
    let (staff, _role) = match verdict {
        Ok(v) => v,
        Err(refusal) => return socket::refuse(&mut sink, &mut reader, Stop::Refuse(refusal)).await,
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut writer = tokio::spawn(socket::write_loop(sink, rx));
    let watched = app.accounts.watch.watch(staff.session, staff.user);
    let mut board = BoardView {
        app: &app,
        scope: Scope::operator(staff.org),
        tx: tx.clone(),
        known: HashSet::new(),
        names: HashMap::new(),
        remote: HashMap::new(),
    };
    let shutdown = app.registry.shutdown_token();
    let stop = tokio::select! {
        _ = &mut writer => None,
        stop = async {
            tokio::select! {
                stop = board.run() => stop,
                stop = read(&mut reader) => stop,
                refusal = super::staff::session_end(&app, staff, &watched.ended) => Stop::Refuse(refusal),
                _ = shutdown.cancelled() => Stop::Refuse((close::SERVICE_RESTART, "server restarting; reconnect")),
            }
        } => Some(stop),
    };
    drop(board);
    if let Some(stop) = stop {
        if let Stop::Refuse((code, reason)) | Stop::Unreadable((code, reason)) = stop {
            tracing::info!(code, reason, "closing live board");
            let _ = tx.try_send(Outbound::Close(code, reason));
        }
        drop(tx);
        if tokio::time::timeout(socket::CLOSE_DRAIN, &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
        reader.linger(matches!(stop, Stop::Unreadable(_))).await;
    }
}

/// A board sends nothing: any message is a protocol error.
async fn read<S>(reader: &mut Reader<S>) -> Stop
where
    S: futures_util::Stream<Item = Result<axum::extract::ws::Message, axum::Error>> + Unpin,
{
    match reader.next().await {
        Ok(Inbound::Text(_) | Inbound::Binary(_)) => {
            Stop::Refuse((close::BAD_MESSAGE, "the live board takes no messages"))
        }
        Err(stop) => stop,
    }
}

/// One board's view: which interviews it has been shown.
struct BoardView<'a> {
    app: &'a AppState,
    scope: Scope,
    tx: mpsc::Sender<Outbound>,
    known: HashSet<Uuid>,
    /// Candidates' names, read once each.
    names: HashMap<Uuid, Option<String>>,
    /// The last status shown of each interview another node drives.
    remote: HashMap<Uuid, Option<LiveStatus>>,
}

impl BoardView<'_> {
    async fn run(&mut self) -> Stop {
        let board = self.app.registry.deps().board.clone();
        // Subscribed before the snapshot is read: nothing that happens meanwhile is missed.
        let mut updates = board.subscribe(self.scope.org());
        if let Err(stop) = self.snapshot().await {
            return stop;
        }
        let mut relist = tokio::time::interval(RELIST);
        relist.tick().await;
        loop {
            let sent = tokio::select! {
                event = updates.recv() => match event {
                    Ok(event) => self.on_event(event).await,
                    // Fell behind the board: start over from a fresh snapshot.
                    Err(broadcast::error::RecvError::Lagged(_)) => self.snapshot().await,
                    Err(broadcast::error::RecvError::Closed) => return Stop::Left,
                },
                _ = relist.tick() => self.relist().await,
            };
            if let Err(stop) = sent {
                return stop;
            }
        }
    }

    fn send(&self, msg: &LiveMessage) -> Result<(), Stop> {
        let json = serde_json::to_string(msg).expect("protocol types serialise");
        self.tx
            .try_send(Outbound::Text(Utf8Bytes::from(json)))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    Stop::Refuse((close::POLICY, "client not reading"))
                }
                mpsc::error::TrySendError::Closed(_) => Stop::Left,
            })
    }

    /// A store failure closes the board with 1013 (reconnect).
    fn store_failed(e: crate::store::StoreError) -> Stop {
        tracing::warn!(error = %e, "cannot read the live board");
        Stop::Refuse((
            close::TRY_AGAIN,
            "cannot read the running interviews; reconnect",
        ))
    }

    async fn snapshot(&mut self) -> Result<(), Stop> {
        let running = self.running().await.map_err(Self::store_failed)?;
        let shared = self.shared_statuses(&running).await;
        self.remote.clear();
        let mut cards = Vec::with_capacity(running.len());
        for view in running {
            let elsewhere = shared.get(&view.id).cloned();
            if let Some(s) = &elsewhere {
                self.remote.insert(view.id, Some(s.clone()));
            }
            cards.push(
                self.card(view, elsewhere)
                    .await
                    .map_err(Self::store_failed)?,
            );
        }
        self.known = cards.iter().map(|c| c.interview_id).collect();
        self.send(&LiveMessage::Snapshot { interviews: cards })
    }

    async fn on_event(&mut self, event: BoardEvent) -> Result<(), Stop> {
        match event {
            BoardEvent::Status(id, status) if self.known.contains(&id) => {
                self.send(&LiveMessage::Update {
                    interview_id: id,
                    live: Some(status),
                })
            }
            BoardEvent::Status(id, _) | BoardEvent::Started(id) => {
                let view = self
                    .app
                    .interviews
                    .interview_in(self.scope, id)
                    .await
                    .map_err(Self::store_failed)?;
                let Some(view) = view else { return Ok(()) };
                let card = self.card(view, None).await.map_err(Self::store_failed)?;
                self.known.insert(id);
                self.send(&LiveMessage::Started { interview: card })
            }
            BoardEvent::Level(id, dbfs) if self.known.contains(&id) => {
                self.send(&LiveMessage::Level {
                    interview_id: id,
                    dbfs,
                })
            }
            BoardEvent::Ended(id, reason) if self.known.remove(&id) => {
                self.send(&LiveMessage::Ended {
                    interview_id: id,
                    reason,
                })
            }
            BoardEvent::Unloaded(id) if self.known.contains(&id) => {
                self.send(&LiveMessage::Update {
                    interview_id: id,
                    live: None,
                })
            }
            _ => Ok(()),
        }
    }

    /// Interviews that started or ended elsewhere (another node) since the last look, and the
    /// statuses other nodes share.
    async fn relist(&mut self) -> Result<(), Stop> {
        let running = self.running().await.map_err(Self::store_failed)?;
        let shared = self.shared_statuses(&running).await;
        let now: HashSet<Uuid> = running.iter().map(|v| v.id).collect();
        let gone: Vec<Uuid> = self.known.difference(&now).copied().collect();
        for id in gone {
            // Ended, as the store says (its actor on this node would have said so already).
            let status = self
                .app
                .interviews
                .interview_in(self.scope, id)
                .await
                .map_err(Self::store_failed)?
                .map_or(InterviewStatus::Completed, |v| v.status);
            if status == InterviewStatus::InProgress {
                continue;
            }
            self.known.remove(&id);
            self.send(&LiveMessage::Ended {
                interview_id: id,
                reason: status.as_str().to_owned(),
            })?;
        }
        let board = self.app.registry.deps().board.clone();
        for view in running {
            let id = view.id;
            if board.status(id).is_some() {
                // Driven here: the actor's own updates keep the card current.
                self.remote.remove(&id);
                continue;
            }
            let elsewhere = shared.get(&id).cloned();
            if !self.known.contains(&id) {
                let card = self
                    .card(view, elsewhere.clone())
                    .await
                    .map_err(Self::store_failed)?;
                self.known.insert(id);
                self.remote.insert(id, elsewhere);
                self.send(&LiveMessage::Started { interview: card })?;
            } else if self.remote.get(&id) != Some(&elsewhere) {
                self.remote.insert(id, elsewhere.clone());
                self.send(&LiveMessage::Update {
                    interview_id: id,
                    live: elsewhere,
                })?;
            }
        }
        Ok(())
    }

    /// The statuses other nodes share of `running` interviews not driven here (none without
    /// Redis; a hot-state failure shows none, logged).
    async fn shared_statuses(&self, running: &[InterviewView]) -> HashMap<Uuid, LiveStatus> {
        let board = &self.app.registry.deps().board;
        if !board.is_shared() {
            return HashMap::new();
        }
        let ids: Vec<Uuid> = running
            .iter()
            .map(|v| v.id)
            .filter(|id| board.status(*id).is_none())
            .collect();
        match self.app.hot.live(&ids).await {
            Ok(found) => ids
                .into_iter()
                .zip(found)
                .filter_map(|(id, json)| {
                    let status = serde_json::from_str::<LiveStatus>(json.as_deref()?).ok()?;
                    Some((id, status))
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "other nodes' live statuses unreadable");
                HashMap::new()
            }
        }
    }

    /// The organization's interviews in progress (the newest [`MAX_CARDS`]).
    async fn running(&self) -> StoreResult<Vec<InterviewView>> {
        let filter = InterviewFilter {
            status: Some(InterviewStatus::InProgress),
            ..Default::default()
        };
        let pages = MAX_CARDS / PageRequest::MAX_PER_PAGE;
        crate::hiring::interviews::all_in(
            self.app.interviews.as_ref(),
            self.scope,
            &filter,
            Some(pages),
        )
        .await
    }

    /// A card; `elsewhere`: the status another node shares, for one not driven here.
    async fn card(
        &mut self,
        view: InterviewView,
        elsewhere: Option<LiveStatus>,
    ) -> StoreResult<LiveCard> {
        let candidate_name = match view.candidate_id {
            Some(c) => match self.names.get(&c) {
                Some(name) => name.clone(),
                None => {
                    let name = self
                        .app
                        .candidates
                        .candidate(self.scope, c)
                        .await?
                        .map(|c| c.name);
                    self.names.insert(c, name.clone());
                    name
                }
            },
            None => None,
        };
        Ok(LiveCard {
            interview_id: view.id,
            role: view.role,
            job_id: view.job_id,
            candidate_id: view.candidate_id,
            candidate_name,
            live: self.app.registry.deps().board.status(view.id).or(elsewhere),
            // Before the store has it, the actor knows.
            started_at: view.started_at.or_else(|| {
                self.app
                    .registry
                    .deps()
                    .board
                    .status(view.id)
                    .and_then(|s| s.started_at)
            }),
        })
    }
}
