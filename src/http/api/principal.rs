//! Who an API request speaks for. [`Staff`] is extracted from `Authorization: Bearer <access
//! token>` and checked against its session in the store on every request (a signed-out session
//! or a disabled user is refused at once, on every node, across restarts and Redis outages).
//!
//! Organization scoping lives here: a handler gets the caller's organization only through
//! [`Staff::scope`], and passes it to every store query, so another organization's resource is
//! simply not found (404, never 403: no existence oracle). Role checks are [`Staff::require`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::bearer;
use crate::accounts::service::AccessError;
use crate::accounts::{Role, Scope};
use crate::http::error::ApiError;
use crate::http::AppState;

pub use crate::accounts::service::Staff;

// The HTTP side of a signed-in staff user: its scope for store queries, and role checks as
// refusals (an inherent impl beside the extractor; the type is `accounts`').
impl Staff {
    /// What store queries of organization-owned resources take.
    pub fn scope(&self) -> Scope {
        Scope::of(self)
    }

    /// An audit-log entry of `action` by this user (add a target, the address, details).
    pub fn record<'a>(&self, action: &'a str) -> crate::audit::Record<'a> {
        crate::audit::Record::new(self.org, Some(self.user), action).via_key(self.api_key)
    }

    /// Refuses (403) unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.includes(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match needed {
                Role::Admin => "only an admin may do this",
                Role::Recruiter => "a viewer may only read",
                Role::Viewer => "not allowed",
            }))
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        match app.accounts.authenticate(token).await {
            Ok(staff) => Ok(staff),
            Err(AccessError::Invalid | AccessError::Ended) => Err(ApiError::Unauthorized),
            Err(AccessError::Store(e)) => Err(e.into()),
        }
    }
}

/// The client's IP address: the TCP peer, or through a trusted proxy the `X-Forwarded-For`
/// client (for rate limits and the audit trail).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl ClientIp {
    /// As the audit log and sessions store it.
    pub fn text(self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        use axum::extract::ConnectInfo;
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Self(match peer {
            Some(ip) if app.connections.is_trusted_proxy(ip) => {
                crate::http::ws::forwarded_client(parts, app).or(Some(ip))
            }
            other => other,
        }))
    }
}
