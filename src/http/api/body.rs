//! JSON request bodies for the API: `Body<T>` is `axum::Json<T>` whose refusals come in the
//! error envelope (request types use `#[serde(deny_unknown_fields)]`; bodies are capped by
//! [`MAX_BODY`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// The largest JSON body the API reads (a résumé upload has its own limit).
pub const MAX_BODY: usize = 64 * 1024;

pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(r) => Err(refusal(r)),
        }
    }
}

fn refusal(r: JsonRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    let message = match &r {
        JsonRejection::MissingJsonContentType(_) => {
            "the body must be JSON (Content-Type: application/json)".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_owned(),
        // serde's message names the field and what was wrong with it (never a value).
        JsonRejection::JsonDataError(e) => e.body_text(),
        _ => "the body could not be read".to_owned(),
    };
    ApiError::bad_request(message)
}

/// A JSON body that may be left out (an empty body is `T::default()`), e.g. a reason for an
/// action that needs none.
pub struct OptionalBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
            || (req
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .is_none()
                && req
                    .headers()
                    .get(axum::http::header::TRANSFER_ENCODING)
                    .is_none()
                && req
                    .headers()
                    .get(axum::http::header::CONTENT_LENGTH)
                    .is_none());
        if empty {
            return Ok(Self(T::default()));
        }
        Body::<T>::from_request(req, state)
            .await
            .map(|Body(v)| Self(v))
    }
}
