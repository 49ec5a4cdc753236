//! Socket I/O shared by every WebSocket endpoint: the inbound limits (sizes, rates, control
//! frames, idleness), the writer task, and closing. Generic over `Stream`/`Sink`, so it is tested
//! without a server. Nothing here knows about interviews.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

use crate::interview::Outbound;
use crate::protocol::{close, MAX_BINARY_BYTES};
use crate::rate::Bucket;

/// A close code and its reason, sent instead of serving a connection.
pub type Refusal = (u16, &'static str);

/// Audio may arrive faster than real time after a network stall, but not for long:
/// a 5 s burst, refilled at 10 % above real time.
const AUDIO_BURST: f64 = 250.0;
const AUDIO_RATE: f64 = 55.0;
/// Text messages and control frames (ping, pong) share one budget: a client that floods pings
/// is closed like one that floods messages, before any pong can pile up.
const MESSAGE_BURST: f64 = 20.0;
const MESSAGE_RATE: f64 = 10.0;
pub const PING_EVERY: Duration = Duration::from_secs(20);
pub const CLOSE_DRAIN: Duration = Duration::from_secs(2);
/// A send the client does not take within this long means it is not reading: it is closed.
pub const SEND_STALL: Duration = Duration::from_secs(10);
/// Bytes a socket may hold unsent (pongs and frames the client has not read): past this the
/// connection is dropped instead of growing. Holds the largest message (a resync snapshot).
pub const MAX_WRITE_BUFFER: usize = 2 * 1024 * 1024;

/// What a client sent that the endpoint has to look at.
#[derive(Debug)]
pub enum Inbound {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// Why reading stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// The client closed or the connection broke: nothing more to send.
    Left,
    /// Close with this code; the client's remaining frames are drained.
    Refuse(Refusal),
    /// Close with this code; the stream cannot be read any further (an oversized message).
    Unreadable(Refusal),
}

/// The read half of a socket with its limits applied: every frame counts, control frames
/// included; sizes are checked; silence past `idle` closes it.
pub struct Reader<S> {
    stream: S,
    idle: Duration,
    messages: Bucket,
    audio: Bucket,
    /// The client closed, or the connection broke: nothing more to read.
    ended: bool,
}

impl<S> Reader<S>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    pub fn new(stream: S, idle: Duration) -> Self {
        Self {
            stream,
            idle,
            messages: Bucket::new(MESSAGE_BURST, MESSAGE_RATE),
            audio: Bucket::new(AUDIO_BURST, AUDIO_RATE),
            ended: false,
        }
    }

    /// A budget of `burst` text messages (control frames included), refilled at `per_sec`: for
    /// a protocol whose audio comes as text (the Realtime adapter's appends).
    pub fn with_message_rate(mut self, burst: f64, per_sec: f64) -> Self {
        self.messages = Bucket::new(burst, per_sec);
        self
    }

    /// Text messages (and control frames) this reader would take now, and the seconds until
    /// its budget is full again.
    pub fn messages_left(&self) -> (f64, f64) {
        self.messages.left()
    }

    /// The next text or binary message; idle (closed) after the idle timeout without any
    /// frame from the client — a pong counts: a watcher that only listens is still there.
    pub async fn next(&mut self) -> Result<Inbound, Stop> {
        loop {
            let deadline = Instant::now() + self.idle;
            if let Some(m) = self
                .frame_before(deadline, (close::POLICY, "idle: no messages received"))
                .await?
            {
                return Ok(m);
            }
        }
    }

    /// The next text or binary message before `deadline`; past it, `late`.
    pub async fn next_before(&mut self, deadline: Instant, late: Refusal) -> Result<Inbound, Stop> {
        loop {
            if let Some(m) = self.frame_before(deadline, late).await? {
                return Ok(m);
            }
        }
    }

    /// The next frame before `deadline`: a message, or `None` for a ping or pong.
    async fn frame_before(
        &mut self,
        deadline: Instant,
        late: Refusal,
    ) -> Result<Option<Inbound>, Stop> {
        if self.ended {
            return Err(Stop::Left);
        }
        let msg = match tokio::time::timeout_at(deadline, self.stream.next()).await {
            Err(_) => return Err(Stop::Refuse(late)),
            Ok(None) => {
                self.ended = true;
                return Err(Stop::Left);
            }
            Ok(Some(Err(e))) => {
                self.ended = true;
                return Err(match read_refusal(&e) {
                    Some(r) => Stop::Unreadable(r),
                    None => Stop::Left,
                });
            }
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Binary(b) => {
                if b.len() > MAX_BINARY_BYTES {
                    return Err(Stop::Refuse((
                        close::POLICY,
                        "binary message over 1500 bytes",
                    )));
                }
                if !self.audio.take() {
                    return Err(Stop::Refuse((close::POLICY, "audio faster than real time")));
                }
                Ok(Some(Inbound::Binary(b)))
            }
            Message::Text(t) => {
                if !self.messages.take() {
                    return Err(Stop::Refuse((close::POLICY, "too many messages")));
                }
                Ok(Some(Inbound::Text(t)))
            }
            // Answered by the protocol layer; each one counts against the message budget.
            Message::Ping(_) | Message::Pong(_) => {
                if !self.messages.take() {
                    return Err(Stop::Refuse((close::POLICY, "too many messages")));
                }
                Ok(None)
            }
            Message::Close(_) => {
                self.ended = true;
                Err(Stop::Left)
            }
        }
    }

    /// Reads and discards everything until the client's close or `stop`'s end.
    pub async fn wait_closed(&mut self) -> Stop {
        loop {
            if let Err(stop) = self.next().await {
                return stop;
            }
        }
    }

    /// Completes a refusal's closing handshake: reads (and discards) until the client's close,
    /// for a bounded time. Dropping a socket with unread data makes the kernel reset the
    /// connection, which can destroy the close frame (and its reason) before the client reads it.
    /// An unreadable stream is left alone for the same time instead.
    pub async fn linger(&mut self, unreadable: bool) {
        if self.ended && !unreadable {
            return;
        }
        if unreadable {
            tokio::time::sleep(CLOSE_DRAIN).await;
            return;
        }
        let _ = timeout(CLOSE_DRAIN, async {
            while let Some(Ok(m)) = self.stream.next().await {
                if let Message::Close(_) = m {
                    break;
                }
            }
        })
        .await;
        self.ended = true;
    }
}

/// Maps a read error to a refusal: oversized messages get 4008, broken connections nothing.
fn read_refusal(e: &axum::Error) -> Option<Refusal> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(ws) = s.downcast_ref::<WsError>() {
            return matches!(ws, WsError::Capacity(_))
                .then_some((close::POLICY, "message too large"));
        }
        source = s.source();
    }
    None
}

pub async fn close_with<K>(sink: &mut K, (code, reason): Refusal)
where
    K: Sink<Message> + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = timeout(SEND_STALL, sink.send(Message::Close(Some(frame)))).await;
}

/// Refuses a connection that never reached an interview: the close, then the handshake.
pub async fn refuse<K, S>(sink: &mut K, reader: &mut Reader<S>, stop: Stop)
where
    K: Sink<Message> + Unpin,
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let (refusal, unreadable) = match stop {
        Stop::Left => return,
        Stop::Refuse(r) => (r, false),
        Stop::Unreadable(r) => (r, true),
    };
    close_with(sink, refusal).await;
    reader.linger(unreadable).await;
}

/// Sends what the interview (or a relay) queues, and a ping every [`PING_EVERY`]. A send the
/// client does not take within [`SEND_STALL`] closes the connection (4008): it is not reading.
pub async fn write_loop<K>(mut sink: K, mut rx: mpsc::Receiver<Outbound>)
where
    K: Sink<Message> + Unpin,
{
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let sent = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Outbound::Text(t)) => timeout(SEND_STALL, sink.send(Message::Text(t))).await,
                Some(Outbound::Audio(b)) => timeout(SEND_STALL, sink.send(Message::Binary(b))).await,
                Some(Outbound::Batch(all)) => timeout(SEND_STALL, async {
                    for t in all {
                        sink.feed(Message::Text(t)).await?;
                    }
                    sink.flush().await
                }).await,
                // Only a Realtime connection's translator reads these.
                Some(Outbound::Speech(_)) => continue,
                Some(Outbound::Close(code, reason)) => {
                    close_with(&mut sink, (code, reason)).await;
                    return;
                }
                None => {
                    let _ = timeout(CLOSE_DRAIN, sink.close()).await;
                    return;
                }
            },
            _ = ping.tick() => timeout(SEND_STALL, sink.send(Message::Ping(Default::default()))).await,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("client not reading; closing its connection");
                close_with(&mut sink, (close::POLICY, "client not reading")).await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn frames(msgs: Vec<Message>) -> impl Stream<Item = Result<Message, axum::Error>> + Unpin {
        stream::iter(msgs.into_iter().map(Ok)).chain(stream::pending())
    }

    #[tokio::test(start_paused = true)]
    async fn a_ping_flood_is_refused_like_a_message_flood() {
        let pings = (0..100)
            .map(|_| Message::Ping(Bytes::from_static(b"x")))
            .collect();
        let mut r = Reader::new(frames(pings), Duration::from_secs(60));
        assert_eq!(
            r.next().await.unwrap_err(),
            Stop::Refuse((close::POLICY, "too many messages"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_only_answers_pings_is_not_idle() {
        // A watcher sends nothing but its pongs (one per server ping, every 20 s) for 100 s.
        let pongs = stream::unfold(0, |n| async move {
            if n == 5 {
                return None;
            }
            tokio::time::sleep(PING_EVERY).await;
            Some((Ok(Message::Pong(Bytes::new())), n + 1))
        })
        .chain(stream::pending());
        let mut r = Reader::new(Box::pin(pongs), Duration::from_secs(60));
        let started = Instant::now();
        assert_eq!(
            r.next().await.unwrap_err(),
            Stop::Refuse((close::POLICY, "idle: no messages received"))
        );
        // Idle only 60 s after its last pong.
        assert_eq!(started.elapsed(), 5 * PING_EVERY + Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn pings_at_a_normal_pace_pass_and_silence_is_idle() {
        let mut msgs: Vec<Message> = (0..3).map(|_| Message::Pong(Bytes::new())).collect();
        msgs.push(Message::text("hi"));
        let mut r = Reader::new(frames(msgs), Duration::from_secs(60));
        assert!(matches!(r.next().await, Ok(Inbound::Text(t)) if t.as_str() == "hi"));
        assert_eq!(
            r.next().await.unwrap_err(),
            Stop::Refuse((close::POLICY, "idle: no messages received"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn oversized_and_too_fast_audio_are_refused() {
        let big = vec![Message::Binary(Bytes::from(vec![
            0u8;
            MAX_BINARY_BYTES + 1
        ]))];
        let mut r = Reader::new(frames(big), Duration::from_secs(60));
        assert_eq!(
            r.next().await.unwrap_err(),
            Stop::Refuse((close::POLICY, "binary message over 1500 bytes"))
        );
        let burst = (0..300)
            .map(|_| Message::Binary(Bytes::from_static(&[0xf8])))
            .collect();
        let mut r = Reader::new(frames(burst), Duration::from_secs(60));
        let mut passed = 0;
        let stop = loop {
            match r.next().await {
                Ok(_) => passed += 1,
                Err(stop) => break stop,
            }
        };
        assert_eq!(passed, AUDIO_BURST as usize);
        assert_eq!(
            stop,
            Stop::Refuse((close::POLICY, "audio faster than real time"))
        );
    }

    /// A sink that never accepts anything: a client that does not read.
    struct Stuck;
    impl Sink<Message> for Stuck {
        type Error = axum::Error;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
        fn start_send(self: std::pin::Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
            Ok(())
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_does_not_read_is_let_go() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(Outbound::Text("x".into())).await.unwrap();
        let writer = tokio::spawn(write_loop(Stuck, rx));
        // The writer gives up on its own (paused time runs through the stall and the close).
        writer.await.unwrap();
        assert!(tx.is_closed(), "the writer stopped taking messages");
    }
}
