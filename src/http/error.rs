//! The HTTP boundary's one error type, answered as the JSON error envelope
//! `{"error": {"code", "message", "details"}}` with the matching status. Internals are logged,
//! never sent. Codes (a contract, listed in docs/api.md): `VALIDATION_ERROR` 400/422,
//! `AUTHENTICATION_ERROR` 401, `AUTHORIZATION_ERROR` 403, `NOT_FOUND` 404, `CONFLICT` 409,
//! `GONE` 410, `PAYLOAD_TOO_LARGE` 413, `RATE_LIMIT_EXCEEDED` 429, `UNAVAILABLE` 503,
//! `INTERNAL_ERROR` 500.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    /// Also what another organization's resource is (no existence oracle).
    #[error("not found")]
    NotFound,
    #[error("the interview has ended")]
    Ended,
    #[error("{message}")]
    Validation {
        message: String,
        details: Option<serde_json::Value>,
    },
    /// Well-formed, but its content cannot be used (422).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{message}")]
    RateLimited {
        message: &'static str,
        retry_after: Duration,
    },
    #[error("too many connections; retry shortly")]
    Busy,
    /// This node is shutting down: its interviews move to the others (retry: a load balancer
    /// sends the retry elsewhere).
    #[error("this node is shutting down; retry")]
    Draining,
    #[error("storage is unavailable; retry shortly")]
    Unavailable(#[source] anyhow::Error),
    /// `/ready`: these parts do not answer.
    #[error("not ready: {0} unavailable")]
    NotReady(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            details: None,
        }
    }

    /// Too many requests of one kind: retry after `retry_after`.
    pub fn too_many(retry_after: Duration) -> Self {
        Self::RateLimited {
            message: "too many requests; retry later",
            retry_after,
        }
    }

    fn parts(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorCode::AuthenticationError),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::AuthorizationError),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::Ended => (StatusCode::GONE, ErrorCode::Gone),
            Self::Validation { .. } => (StatusCode::BAD_REQUEST, ErrorCode::ValidationError),
            Self::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationError)
            }
            Self::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            Self::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimitExceeded)
            }
            Self::Busy | Self::Draining | Self::Unavailable(_) | Self::NotReady(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Busy => Some(super::serve::RETRY_AFTER_SECS),
            Self::Draining => Some(1),
            Self::RateLimited { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            _ => None,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Corrupt(_) => Self::Internal(e.into()),
            crate::store::StoreError::Conflict(what) => {
                Self::Conflict(format!("{what} already in use"))
            }
            _ => Self::Unavailable(e.into()),
        }
    }
}

/// The error envelope every API error is answered with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// What kind of error: the client's switch (the message is for people).
    code: ErrorCode,
    message: String,
    /// More about it, when there is more (e.g. which parts are unavailable); else null.
    details: Option<serde_json::Value>,
}

/// The envelope's `code` (a contract: docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    AuthenticationError,
    AuthorizationError,
    NotFound,
    Conflict,
    Gone,
    RateLimitExceeded,
    PayloadTooLarge,
    Unavailable,
    InternalError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Self::Unavailable(e) => tracing::warn!(error = %e, "storage unavailable"),
            _ => {}
        }
        let (status, code) = self.parts();
        let details = match &self {
            Self::Validation { details, .. } => details.clone(),
            Self::NotReady(down) => {
                Some(serde_json::json!({ "unavailable": down.split(", ").collect::<Vec<_>>() }))
            }
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                details,
            },
        };
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
