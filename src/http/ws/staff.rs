//! Sockets of the hiring team that belong to no one interview (`GET /v1/live`): who opened
//! them, decided before the upgrade by an extractor (a staff access token or an API key as the
//! `Sec-WebSocket-Protocol` `bearer.<token>`, and the page's `Origin`), and the end of the
//! session they live by (a monitor's too).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::principal::{offered_protocols, StaffSession};
use super::socket::Refusal;
use crate::accounts::Role;
use crate::http::AppState;
use crate::protocol::{close, BEARER_PREFIX};

/// A staff member's socket: their session and role, or the close it gets after the upgrade.
pub struct StaffSocket {
    pub verdict: Result<(StaffSession, Role), Refusal>,
}

impl FromRequestParts<AppState> for StaffSocket {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Infallible> {
        Ok(Self {
            verdict: admit(parts, app).await,
        })
    }
}

async fn admit(parts: &Parts, app: &AppState) -> Result<(StaffSession, Role), Refusal> {
    if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN) {
        if !app.origins.allows(origin.as_bytes()) {
            return Err((close::FORBIDDEN, "origin not allowed"));
        }
    }
    let token = offered_protocols(parts)
        .find_map(|p| p.strip_prefix(BEARER_PREFIX))
        .ok_or((close::UNAUTHORIZED, "missing credentials"))?;
    let s = app
        .accounts
        .authenticate(token)
        .await
        .map_err(|_| (close::UNAUTHORIZED, "invalid or expired token"))?;
    Ok((
        StaffSession {
            session: s.session,
            user: s.user,
            org: s.org,
            api_key: s.api_key.is_some(),
        },
        s.role,
    ))
}

/// Resolves when the staff session a socket was opened with ends: at once when it ends on this
/// node, else at the next re-check in the store.
pub async fn session_end(
    app: &AppState,
    s: StaffSession,
    ended: &tokio_util::sync::CancellationToken,
) -> Refusal {
    use crate::accounts::watch::{FAST_RECHECK, RECHECK};
    let why = if s.api_key {
        "API key revoked"
    } else {
        "signed out"
    };
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    let mut fast = tokio::time::interval(FAST_RECHECK);
    fast.tick().await;
    loop {
        tokio::select! {
            _ = ended.cancelled() => return (close::UNAUTHORIZED, why),
            // Ended on another node: its mark in the shared hot state, confirmed by the store.
            _ = fast.tick() => {
                let user = (!s.api_key).then_some(s.user);
                if app.accounts.maybe_ended(s.session, user).await
                    && matches!(
                        app.accounts.still_valid(s.session, s.org, s.api_key).await,
                        Err(crate::accounts::service::AccessError::Ended
                            | crate::accounts::service::AccessError::Invalid)
                    )
                {
                    return (close::UNAUTHORIZED, why);
                }
            }
            _ = recheck.tick() => {
                match app.accounts.still_valid(s.session, s.org, s.api_key).await {
                    Ok(_) => {}
                    Err(crate::accounts::service::AccessError::Store(e)) => {
                        // A store outage closes nobody: the check runs again.
                        tracing::warn!(error = %e, "cannot re-check a monitor's session");
                    }
                    Err(_) => return (close::UNAUTHORIZED, "session ended"),
                }
            }
        }
    }
}
