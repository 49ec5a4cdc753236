//! Who is on the other end of a WebSocket, decided once, before the upgrade, by an extractor:
//! the credentials (a bearer token in the subprotocol list, or a single-use ticket), the
//! interview they open, the page's `Origin`. A refusal is delivered after the upgrade as a close
//! code, because browsers cannot read the HTTP status of a failed upgrade.

use std::convert::Infallible;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::Deserialize;
use uuid::Uuid;

use super::socket::Refusal;
use crate::auth::Audience;
use crate::http::AppState;
use crate::protocol::{close, BEARER_PREFIX};

/// An authorised party and the interview it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub audience: Audience,
    pub interview: Uuid,
    /// A monitor signed in as staff (not a monitor token): the socket lives as long as this
    /// session.
    pub staff: Option<StaffSession>,
    /// What a monitor may do: its staff role, or its monitor token's (`viewer` unless made with
    /// `--monitor-role recruiter`). `None` for the candidate.
    pub role: Option<crate::accounts::Role>,
    /// The interview's organization.
    pub org: Uuid,
}

/// The staff session a socket was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffSession {
    /// The sign-in session, or the API key's id.
    pub session: Uuid,
    pub user: Uuid,
    pub org: Uuid,
    pub api_key: bool,
}

/// The endpoint's audience, as a type: `Authorized<Candidate>`, `Authorized<Monitor>`.
pub trait Role: Send + Sync + 'static {
    const AUDIENCE: Audience;
    /// Whether `?ticket=` is accepted (candidates' tools that cannot set subprotocols).
    const TICKETS: bool;
}

pub struct Candidate;
impl Role for Candidate {
    const AUDIENCE: Audience = Audience::Candidate;
    const TICKETS: bool = true;
}

pub struct Monitor;
impl Role for Monitor {
    const AUDIENCE: Audience = Audience::Monitor;
    const TICKETS: bool = false;
}

/// The verdict on a WebSocket request: a principal, or the close it gets after the upgrade.
pub struct Authorized<R> {
    pub verdict: Result<Principal, Refusal>,
    _role: PhantomData<R>,
}

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

/// Subprotocol entries offered by the client (one header may list several).
pub fn offered_protocols(parts: &Parts) -> impl Iterator<Item = &str> {
    parts
        .headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

impl<R: Role> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Infallible> {
        let verdict = admit::<R>(parts, app).await;
        Ok(Self {
            verdict,
            _role: PhantomData,
        })
    }
}

/// Refuses a page from an origin that may not open a WebSocket (a client that is not a
/// browser sends none).
pub(crate) fn origin_allowed(parts: &Parts, app: &AppState) -> Result<(), Refusal> {
    if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN) {
        if !app.origins.allows(origin.as_bytes()) {
            tracing::warn!(
                origin = %String::from_utf8_lossy(origin.as_bytes()),
                "WebSocket from an origin that is not allowed; add it to VIVA_CORS_ORIGINS (or set VIVA_PUBLIC_URL) if it is yours"
            );
            return Err((close::FORBIDDEN, "origin not allowed"));
        }
    }
    Ok(())
}

async fn admit<R: Role>(parts: &mut Parts, app: &AppState) -> Result<Principal, Refusal> {
    origin_allowed(parts, app)?;
    let id = Path::<String>::from_request_parts(parts, app)
        .await
        .ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .ok_or((close::NOT_FOUND, "no such interview"))?;
    let bearer = offered_protocols(parts)
        .find_map(|p| p.strip_prefix(BEARER_PREFIX))
        .map(str::to_owned);
    let ticket = if R::TICKETS {
        Query::<TicketQuery>::from_request_parts(parts, app)
            .await
            .ok()
            .and_then(|Query(q)| q.ticket)
    } else {
        None
    };
    let mut staff = None;
    let mut role = None;
    // The candidate token's id, checked against the interview's current link.
    let mut link = None;
    let for_id = match (bearer, ticket) {
        (Some(token), _) => match app.auth.verify_claims(R::AUDIENCE, &token) {
            Ok(claims) => {
                not_revoked(app, &claims.jti).await?;
                link = Some(claims.jti);
                role = claims.role;
                claims.interview
            }
            // Monitors may also sign in as staff: an access token of their organization.
            Err(_) if R::AUDIENCE == Audience::Monitor => {
                let s = app
                    .accounts
                    .authenticate(&token)
                    .await
                    .map_err(|_| (close::UNAUTHORIZED, "invalid or expired token"))?;
                staff = Some(StaffSession {
                    session: s.session,
                    user: s.user,
                    org: s.org,
                    api_key: s.api_key.is_some(),
                });
                role = Some(s.role);
                id
            }
            Err(_) => return Err((close::UNAUTHORIZED, "invalid or expired token")),
        },
        (None, Some(ticket)) => match app.hot.take_ticket(&ticket).await {
            Ok(Some(id)) => id,
            Ok(None) => return Err((close::UNAUTHORIZED, "invalid, used or expired ticket")),
            Err(e) => {
                tracing::error!(error = %e, "ticket lookup failed");
                return Err((close::INTERNAL, "internal error"));
            }
        },
        (None, None) => return Err((close::UNAUTHORIZED, "missing credentials")),
    };
    if for_id != id {
        return Err((close::FORBIDDEN, "credentials are for another interview"));
    }
    match app.store.get_interview(id).await {
        // Another organization's interview is not found (no existence oracle: checked first).
        Ok(Some(i)) if staff.is_some_and(|s| s.org != i.organization_id) => {
            Err((close::NOT_FOUND, "no such interview"))
        }
        Ok(Some(i)) => {
            if R::AUDIENCE == Audience::Candidate {
                candidate_may_enter(&i, link.as_deref())?;
            } else if i.status.is_finished() {
                return Err((close::ENDED, "interview ended"));
            }
            Ok(Principal {
                audience: R::AUDIENCE,
                interview: id,
                staff,
                role,
                org: i.organization_id,
            })
        }
        Ok(None) => Err((close::NOT_FOUND, "no such interview")),
        Err(e) => {
            tracing::error!(error = %e, "interview lookup failed");
            Err((close::INTERNAL, "internal error"))
        }
    }
}

/// Refuses a revoked token. A hot-state outage does not lock candidates out (nothing is
/// revoked meanwhile).
pub(crate) async fn not_revoked(app: &AppState, jti: &str) -> Result<(), Refusal> {
    match app.hot.is_revoked(jti).await {
        Ok(false) => Ok(()),
        Ok(true) => Err((close::UNAUTHORIZED, "token revoked")),
        Err(e) => {
            tracing::warn!(error = %e, "revocation list unavailable; token accepted");
            Ok(())
        }
    }
}

/// Whether the candidate may open interview `i` now, with the link whose token id is `link`
/// (`None`: a ticket, issued for a working link): not ended, the link not replaced by a
/// re-issued one, consent given where it is asked for. Every candidate endpoint checks this.
pub(crate) fn candidate_may_enter(
    i: &crate::store::InterviewRecord,
    link: Option<&str>,
) -> Result<(), Refusal> {
    if i.status.is_finished() {
        return Err((close::ENDED, "interview ended"));
    }
    if link.is_some_and(|jti| !i.link_works(jti)) {
        return Err((close::UNAUTHORIZED, "link replaced"));
    }
    if i.needs_consent() {
        return Err((close::CONSENT_REQUIRED, "consent required"));
    }
    Ok(())
}
