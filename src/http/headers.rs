//! Security headers on every response: the page may load scripts, styles and connections from
//! this server only, may not be framed, leaks no referrer, and is never MIME-sniffed; HSTS when
//! the public URL is https.

use axum::extract::State;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::Response;

/// `'self'` covers `ws:`/`wss:` to the same host for `connect-src` (CSP level 3). The favicon is
/// an empty `data:` URL.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Whether to send HSTS (the public URL is https).
#[derive(Clone, Copy)]
pub struct Hsts(pub bool);

pub async fn add(State(Hsts(hsts)): State<Hsts>, mut res: Response) -> Response {
    let h = res.headers_mut();
    let mut set = |name, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(CONTENT_SECURITY_POLICY, CSP);
    set(X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(REFERRER_POLICY, "no-referrer");
    set(X_FRAME_OPTIONS, "DENY");
    if hsts {
        set(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    res
}
