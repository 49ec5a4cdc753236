//! HTTP boundary: routes, shared state, the candidate WebSocket and the web client's files.

pub mod api;
pub mod error;
pub mod relay;
pub mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::routing::{get, post};
use axum::Router;
use tokio_util::task::TaskTracker;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::auth::Auth;
use crate::interview::Registry;
use crate::store::{HotState, Store};

/// Connection limits from config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hello_timeout: Duration,
    pub idle_timeout: Duration,
}

#[derive(Clone)]
pub struct AppState {
    pub registry: Registry,
    pub auth: Arc<Auth>,
    pub store: Arc<dyn Store>,
    pub hot: Arc<dyn HotState>,
    pub limits: Limits,
    pub tracker: TaskTracker,
    next_conn: Arc<AtomicU64>,
}

impl AppState {
    pub fn new(
        registry: Registry,
        auth: Arc<Auth>,
        store: Arc<dyn Store>,
        hot: Arc<dyn HotState>,
        limits: Limits,
        tracker: TaskTracker,
    ) -> Self {
        Self {
            registry,
            auth,
            store,
            hot,
            limits,
            tracker,
            next_conn: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

pub fn router(app: AppState, web_dir: &std::path::Path) -> Router {
    Router::new()
        .route("/health", get(api::health))
        .route("/v1/interviews/{id}/ticket", post(api::ticket))
        .route("/v1/interviews/{id}/stream", get(ws::stream))
        .route("/v1/interviews/{id}/monitor", get(ws::monitor))
        .route_service("/interview/{id}", ServeFile::new(web_dir.join("candidate/index.html")))
        .fallback_service(ServeDir::new(web_dir))
        // Spans carry the path only: query strings (tickets) and headers (tokens) are never logged.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(app)
}
