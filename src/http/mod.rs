//! HTTP boundary: the accept loop and its limits (`serve`, `admission`), routes and shared
//! state, security headers, the WebSocket endpoints (`ws`), relayed monitors, the plain HTTP API
//! and its error type, and the web client's files.

pub mod admission;
pub mod api;
pub mod error;
pub mod headers;
pub mod metrics;
pub mod openapi;
pub mod origin;
pub mod relay;
pub mod request_id;
pub mod serve;
pub mod web;
pub mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;

use axum::Router;
use tokio_util::task::TaskTracker;
use tower_http::trace::TraceLayer;

use crate::accounts::service::Accounts;
use crate::auth::Auth;
use crate::hiring::candidates::CandidateStore;
use crate::hiring::interviews::InterviewDirectory;
use crate::hiring::jobs::JobStore;
use crate::interview::Registry;
use crate::store::{HotState, Storage, Store};
use admission::{ConnectionLimits, MonitorSeats};
use origin::OriginPolicy;

/// The HTTP side's settings (from [`crate::config::Config::http`]).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub limits: Limits,
    pub serve: serve::ServeSettings,
    /// Open connections on this node, before the file-descriptor check lowers it.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub trusted_proxies: Vec<admission::IpNet>,
    /// The public URL as configured (`None`: derived from the bind address) and as used.
    pub configured_public_url: Option<String>,
    pub public_url: String,
    pub cors_origins: Vec<String>,
    pub max_monitors: usize,
    /// Web client files from disk instead of the embedded copy.
    pub web_dir: Option<std::path::PathBuf>,
}

impl HttpSettings {
    /// Served over https (browsers get HSTS).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Per-connection time limits and per-client request rates, from config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hello_timeout: Duration,
    pub idle_timeout: Duration,
    /// Sign-in, refresh and invitation attempts per client IP per minute.
    pub auth_per_minute: u32,
    /// Interviews one account (staff user or API key) may create per minute; one client IP,
    /// five times as many.
    pub interviews_per_minute: u32,
}

/// Counters the HTTP side keeps for `/health`.
#[derive(Debug, Default)]
pub struct HttpStats {
    /// Candidate audio frames dropped because an interview's mailbox was full.
    audio_frames_dropped: AtomicU64,
    /// WebSocket sessions open now (candidates and monitors).
    websockets: AtomicU64,
}

impl HttpStats {
    /// Counts one dropped frame; returns the total so far.
    pub fn count_dropped_frame(&self) -> u64 {
        self.audio_frames_dropped.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn audio_frames_dropped(&self) -> u64 {
        self.audio_frames_dropped.load(Ordering::Relaxed)
    }

    pub fn websocket_opened(&self) {
        self.websockets.fetch_add(1, Ordering::Relaxed);
    }

    pub fn websocket_closed(&self) {
        self.websockets.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn websockets(&self) -> u64 {
        self.websockets.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub registry: Registry,
    pub auth: Arc<Auth>,
    /// Staff sign-in and the checks of every staff request.
    pub accounts: Arc<Accounts>,
    pub jobs: Arc<dyn JobStore>,
    pub candidates: Arc<dyn CandidateStore>,
    pub interviews: Arc<dyn InterviewDirectory>,
    pub notices: Arc<dyn crate::consent::NoticeStore>,
    pub audit: Arc<dyn crate::audit::AuditStore>,
    pub orgs: Arc<dyn crate::accounts::organization::OrgStore>,
    pub webhooks: Arc<dyn crate::webhooks::WebhookStore>,
    pub assessments: Arc<dyn crate::assessment::AssessmentStore>,
    /// The question banks organizations can use (built-in and imported; cached in `hot`).
    pub library: crate::plan::library::Library,
    pub provider_keys: Arc<dyn crate::providers::byok::ProviderKeyStore>,
    pub notes: Arc<dyn crate::hiring::notes::NoteStore>,
    /// Organizations' prompt versions.
    pub prompts: Arc<dyn crate::prompts::PromptStore>,
    /// Seals secrets kept at rest (webhook secrets).
    pub vault: crate::vault::Vault,
    /// Webhooks may point at loopback and private addresses (and use plain http).
    pub webhooks_allow_private: bool,
    /// What `/metrics` asks of non-loopback clients (`VIVA_METRICS_TOKEN`).
    pub metrics_token: Option<Arc<str>>,
    /// Résumé extractions at once.
    pub resume_permits: Arc<tokio::sync::Semaphore>,
    pub store: Arc<dyn Store>,
    pub hot: Arc<dyn HotState>,
    pub limits: Limits,
    pub tracker: TaskTracker,
    pub origins: Arc<OriginPolicy>,
    pub connections: Arc<ConnectionLimits>,
    pub monitors: Arc<MonitorSeats>,
    pub stats: Arc<HttpStats>,
    /// Where links (invitations) point.
    pub public_url: Arc<str>,
    next_conn: Arc<AtomicU64>,
}

/// What [`AppState`] is built from, besides the interview registry and storage.
pub struct Door {
    pub limits: Limits,
    pub origins: OriginPolicy,
    pub connections: Arc<ConnectionLimits>,
    pub max_monitors: usize,
    /// Where links (invitations) point.
    pub public_url: String,
    pub vault: crate::vault::Vault,
    pub webhooks_allow_private: bool,
    pub metrics_token: Option<String>,
}

impl AppState {
    pub fn new(
        registry: Registry,
        auth: Arc<Auth>,
        accounts: Arc<Accounts>,
        storage: &Storage,
        hot: Arc<dyn HotState>,
        door: Door,
        tracker: TaskTracker,
    ) -> Self {
        Self {
            registry,
            auth,
            accounts,
            jobs: storage.jobs.clone(),
            candidates: storage.candidates.clone(),
            interviews: storage.interviews.clone(),
            notices: storage.notices.clone(),
            audit: storage.audit.clone(),
            orgs: storage.orgs.clone(),
            webhooks: storage.webhooks.clone(),
            assessments: storage.assessments.clone(),
            library: crate::plan::library::Library {
                store: storage.banks.clone(),
                hot: hot.clone(),
            },
            provider_keys: storage.provider_keys.clone(),
            notes: storage.notes.clone(),
            prompts: storage.prompts.clone(),
            vault: door.vault,
            webhooks_allow_private: door.webhooks_allow_private,
            metrics_token: door.metrics_token.map(Into::into),
            resume_permits: Arc::new(tokio::sync::Semaphore::new(crate::hiring::resume::PARALLEL)),
            store: storage.store.clone(),
            hot,
            limits: door.limits,
            tracker,
            origins: Arc::new(door.origins),
            connections: door.connections,
            monitors: MonitorSeats::new(door.max_monitors),
            public_url: door.public_url.into(),
            stats: Arc::default(),
            next_conn: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The node is shutting down: `/ready` says 503, new WebSockets are refused with 503
    /// (a load balancer retries them on another node), live interviews move away.
    pub fn draining(&self) -> bool {
        self.registry.shutdown_token().is_cancelled()
    }
}

/// CORS for the API: pages from the allowed origins (`VIVA_CORS_ORIGINS`, the public URL's; any
/// loopback page while no public URL is set) may call it, with credentials (the refresh cookie);
/// never a wildcard.
fn cors(app: &AppState) -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins = app.origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origins.allows(origin.as_bytes())
        }))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(request_id::HEADER),
        ])
        .expose_headers([
            HeaderName::from_static(request_id::HEADER),
            header::RETRY_AFTER,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// `web_dir`: serve the web client from this folder instead of the embedded copy.
pub fn router(app: AppState, web_dir: Option<&std::path::Path>, hsts: bool) -> Router {
    // Every route comes with its documentation (src/http/openapi.rs).
    let (api, doc) = openapi::api_routes().split_for_parts();
    let api = api
        .layer(axum::extract::DefaultBodyLimit::max(api::body::MAX_BODY))
        .layer(cors(&app))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .merge(openapi::doc_routes(doc));
    web::routes(api, web_dir)
        .layer(axum::middleware::map_response_with_state(
            headers::Hsts(hsts),
            headers::add,
        ))
        // Spans carry the path and the request id only: query strings (tickets) and other
        // headers (tokens) are never logged.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(request_id::HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        // Outermost: the id is on the request before the span above is made.
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(app)
}
