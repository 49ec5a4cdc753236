//! Live monitoring of an interview another node drives: the state is rebuilt from the durable
//! turns and the hot checkpoint, then the interview's live stream (Redis) is relayed event by
//! event, the same bytes the owner's own monitors get; beside it the owner's feed (monitor-only
//! messages, listen-in audio), which the owner writes while this watcher's heartbeats say it
//! is here.

use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::AppState;
use crate::interview::remote::{Mail, WATCH_HEARTBEAT, WATCH_TTL};
use crate::interview::{AttachError, Outbound};
use crate::protocol::close;
use crate::store::FeedItem;

/// How long one blocking read of the stream waits before looking again.
const READ_WAIT: Duration = Duration::from_secs(5);

/// Just an event's `type`.
#[derive(serde::Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

fn json<T: serde::Serialize>(v: &T) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(v).expect("protocol types serialise"))
}

/// Tells the driving node, every few seconds while this watcher is here, to feed it.
async fn heartbeat(app: AppState, id: Uuid, tx: mpsc::Sender<Outbound>, listen: bool) {
    let mail = Mail::Watching { listen }.to_json();
    let mut every = tokio::time::interval(WATCH_HEARTBEAT);
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = app.hot.send_mail(id, &mail, WATCH_TTL).await {
                    tracing::debug!(interview = %id, error = %e, "watch heartbeat not sent");
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// Relays the driving node's feed: monitor-only messages, and with `listen` both sides' audio.
/// Live only: a gap (a Redis outage) is not made up.
async fn feed(app: AppState, id: Uuid, tx: mpsc::Sender<Outbound>, listen: bool) {
    let mut after = None;
    loop {
        let read = tokio::select! {
            r = app.hot.read_feed(id, after.clone(), READ_WAIT) => r,
            _ = tx.closed() => return,
        };
        match read {
            Ok((items, next)) => {
                after = next;
                for item in items {
                    let out = match item {
                        FeedItem::Text(t) => Outbound::Text(Utf8Bytes::from(t)),
                        FeedItem::Audio(frame) if listen => Outbound::Audio(frame),
                        FeedItem::Audio(_) => continue,
                    };
                    if tx.send(out).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::debug!(interview = %id, error = %e, "live feed unreadable; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = tx.closed() => return,
                }
            }
        }
    }
}

/// Sends `ready`, a `resync` snapshot and the stored `notes`, then relays the live stream until the interview
/// ends, the monitor goes away or the stream is lost (the monitor is told to reconnect).
pub async fn relay(
    app: AppState,
    id: Uuid,
    tx: mpsc::Sender<Outbound>,
    notes: Vec<crate::protocol::monitor::InterviewNote>,
    listen: bool,
) -> Result<(), AttachError> {
    let internal = |e: crate::store::StoreError| {
        tracing::warn!(interview = %id, error = %e, "cannot relay a remote interview");
        AttachError::Internal
    };
    let interview = app
        .store
        .get_interview(id)
        .await
        .map_err(internal)?
        .ok_or(AttachError::NotFound)?;
    let turns = app.store.turns(id).await.map_err(internal)?;
    let cp = app.hot.load_checkpoint(id).await.map_err(internal)?;
    let start = crate::interview::remote::watch_start(id, interview, turns, cp.as_ref());
    let mut after = start.after;
    let mut hello = vec![json(&start.ready), json(&start.resync)];
    hello.extend(
        notes
            .into_iter()
            .map(|note| json(&crate::protocol::monitor::MonitorEvent::Note { note })),
    );
    tx.send(Outbound::Batch(hello))
        .await
        .map_err(|_| AttachError::Stopped)?;
    let shutdown = app.registry.shutdown_token();
    tokio::spawn(heartbeat(app.clone(), id, tx.clone(), listen));
    tokio::spawn(feed(app.clone(), id, tx.clone(), listen));
    tokio::spawn(async move {
        loop {
            let events = tokio::select! {
                r = app.hot.read_events(id, after, READ_WAIT) => r,
                _ = tx.closed() => return,
                _ = shutdown.cancelled() => {
                    let _ = tx.send(Outbound::Close(close::SERVICE_RESTART, "server restarting; reconnect")).await;
                    return;
                }
            };
            let events = match events {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(interview = %id, error = %e, "live stream lost");
                    let _ = tx
                        .send(Outbound::Close(
                            close::TRY_AGAIN,
                            "live view interrupted; reconnect",
                        ))
                        .await;
                    return;
                }
            };
            for e in events {
                after = e.seq;
                let ended = serde_json::from_str::<Kind>(&e.body).is_ok_and(|k| k.kind == "ended");
                if tx
                    .send(Outbound::Text(Utf8Bytes::from(e.body)))
                    .await
                    .is_err()
                {
                    return;
                }
                if ended {
                    let _ = tx
                        .send(Outbound::Close(close::ENDED, "interview ended"))
                        .await;
                    return;
                }
            }
        }
    });
    Ok(())
}
