//! `X-Request-ID`: a client's id is kept if it is short and plain (letters, digits, `.`, `_`,
//! `-`; at most 64), else one is made (a UUID). It is on the request before anything logs, in
//! every log line of the request (the `http` span's `request_id`), and echoed on the response.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

fn acceptable(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(HEADER) {
        Some(v) if acceptable(v) => v.clone(),
        _ => HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is ASCII"),
    };
    req.headers_mut().insert(HEADER, id.clone());
    let mut res = next.run(req).await;
    res.headers_mut().insert(HEADER, id);
    res
}
