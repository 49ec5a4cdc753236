//! The web client's files (`web-client/public/`, nothing else of `web-client/`): embedded in the
//! binary, so `viva serve` works from any directory (debug builds read the folder from disk, so
//! edits show on reload), or served from `VIVA_WEB_DIR` when set.

use std::path::{Path, PathBuf};

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

#[derive(rust_embed::Embed)]
#[folder = "web-client/public/"]
struct Public;

/// The candidate page, served for every interview link.
const CANDIDATE_PAGE: &str = "candidate/index.html";

/// Where the web client comes from, for the start-up log.
pub fn source(dir: Option<&Path>) -> String {
    match dir {
        Some(d) => std::path::absolute(d)
            .unwrap_or_else(|_| d.to_owned())
            .display()
            .to_string(),
        None if cfg!(debug_assertions) => format!(
            "{} (debug build: read from disk)",
            concat!(env!("CARGO_MANIFEST_DIR"), "/web-client/public")
        ),
        None => "embedded in the binary".into(),
    }
}

/// Routes for the web client: `/interview/{id}` (the candidate page), `/console/` (the
/// recruiters' console) and every other file.
pub fn routes<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    dir: Option<&Path>,
) -> Router<S> {
    let router = router.route(
        "/console",
        get(|| async { axum::response::Redirect::permanent("/console/") }),
    );
    match dir {
        Some(dir) => {
            let dir: PathBuf = dir.to_owned();
            router
                .route_service("/interview/{id}", ServeFile::new(dir.join(CANDIDATE_PAGE)))
                .fallback_service(ServeDir::new(dir))
        }
        None => router
            .route(
                "/interview/{id}",
                get(|| async { embedded(CANDIDATE_PAGE) }),
            )
            .fallback(|uri: Uri| async move { embedded(uri.path()) }),
    }
}

fn embedded(path: &str) -> Response {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    // A folder named without its slash (`/console/accept-invite`): its index page.
    let found = Public::get(&path).map(|f| (f, path.clone())).or_else(|| {
        let index = format!("{path}/index.html");
        Public::get(&index).map(|f| (f, index))
    });
    match found {
        Some((file, path)) => (
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            file.data,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_candidate_page_and_its_scripts_are_embedded_and_nothing_else() {
        assert!(Public::get(CANDIDATE_PAGE).is_some());
        assert!(Public::get("candidate/candidate.js").is_some());
        assert!(Public::get("shared/style.css").is_some());
        assert!(Public::get("console/index.html").is_some());
        assert!(Public::get("console/views/watch.js").is_some());
        assert!(Public::get("console/accept-invite/index.html").is_some());
        assert!(Public::get("../package.json").is_none());
        assert!(Public::iter().all(|f| !f.contains("node_modules") && !f.ends_with(".d.ts")));
        assert_eq!(content_type("candidate/mic.js"), "text/javascript");
    }

    #[test]
    fn a_folder_named_without_its_slash_serves_its_index_page() {
        // Invitation links are `/console/accept-invite#token=…`.
        let r = embedded("/console/accept-invite");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(
            embedded("/console/nothing-here").status(),
            StatusCode::NOT_FOUND
        );
    }
}
