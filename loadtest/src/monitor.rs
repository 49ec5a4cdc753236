//! One recruiter watching an interview live: measures how late each event arrives
//! (now − the event's `ts`; client and server share this machine's clock).

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use viva::protocol::ServerMessage;

use crate::session::Plan;
use crate::stats::{ErrorKind, Recorder};

pub async fn run(plan: Plan, rec: Recorder, deadline: Instant) {
    let Some(token) = plan.invite.monitor_token.as_deref() else {
        return;
    };
    let Ok(mut req) = plan.monitor_url.as_str().into_client_request() else {
        return rec.monitor_error(ErrorKind::Connect);
    };
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("viva.v1, bearer.{token}")
            .parse()
            .expect("header value"),
    );
    let Ok(Ok((mut ws, _))) =
        tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(req)).await
    else {
        return rec.monitor_error(ErrorKind::Connect);
    };
    loop {
        let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(m) => m,
            Err(_) => return,
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                if let Ok(ServerMessage::Event(e)) = serde_json::from_str::<ServerMessage>(&t) {
                    let lag = chrono::Utc::now() - e.ts;
                    rec.monitor_lag(lag.to_std().unwrap_or_default());
                }
            }
            Some(Ok(Message::Binary(b))) => {
                // Listen-in: one byte of channel, then an Opus packet.
                if b.len() > 1 && b[0] <= 1 {
                    rec.listen_frame();
                } else {
                    rec.monitor_error(ErrorKind::Protocol);
                }
            }
            Some(Ok(Message::Close(f))) => {
                // The interview ended (4010) or the server is restarting: both are fine here.
                match f.map(|f| u16::from(f.code)) {
                    Some(4010 | 1012 | 1000) | None => {}
                    Some(c) => rec.monitor_error(ErrorKind::Closed(c)),
                }
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return,
        }
    }
}
