//! Assembles the server from config and runs it on a given listener until a given shutdown
//! future resolves (so tests bind port 0 and stop it at will).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accounts::service::Accounts;
use crate::auth::{load_or_create_secret, Auth};
use crate::config::Config;
use crate::http::admission::ConnectionLimits;
use crate::http::origin::OriginPolicy;
use crate::http::serve;
use crate::http::{self, AppState, Door};
use crate::interview::speak::{AudioCache, SpeakDeps, VoiceSettings};
use crate::interview::{Deps, Registry};
use crate::providers::Providers;
use crate::store::event_writer::EventWriter;
use crate::store::memory::{MemoryHot, MemoryStore};
use crate::store::postgres::{PgSettings, PgStore};
use crate::store::redis::RedisHot;
use crate::store::sqlite::SqliteStore;
use crate::store::{HotState, Storage, Store};

/// Opens the durable store the config names (see [`open_storage`]).
pub async fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_storage(cfg).await?.store)
}

/// Opens the durable store the config names: Postgres for a `postgres://` `DATABASE_URL`
/// (migrated on open unless `no_migrate`), SQLite for `sqlite:`, else the embedded SQLite file.
pub async fn open_storage(cfg: &Config) -> anyhow::Result<Storage> {
    match &cfg.database_url {
        Some(url) if url.expose().starts_with("sqlite:") => Ok(Storage::of(
            SqliteStore::open_url(url.expose())
                .await
                .context("opening DATABASE_URL")?,
        )),
        Some(url)
            if url.expose().starts_with("postgres://")
                || url.expose().starts_with("postgresql://") =>
        {
            let settings = PgSettings {
                max_connections: cfg.db_pool.max(1),
                migrate: !cfg.no_migrate,
                ..PgSettings::default()
            };
            Ok(Storage::of(
                PgStore::connect(url.expose(), settings)
                    .await
                    .context("connecting to DATABASE_URL (Postgres)")?,
            ))
        }
        Some(_) => bail!(
            "DATABASE_URL must start with postgres://, postgresql:// or sqlite:; \
             unset it to use the embedded default"
        ),
        None => {
            crate::auth::private_dir(&cfg.data_dir)
                .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
            let path: PathBuf = cfg.data_dir.join("viva.db");
            // Created private before SQLite opens it: its -wal and -shm files take its mode.
            crate::auth::private_file(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            Ok(Storage::of(
                SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("opening {}", path.display()))?,
            ))
        }
    }
}

/// Opens the hot state: Redis for `REDIS_URL`, else in-process (one node).
pub async fn open_hot(cfg: &Config) -> anyhow::Result<Arc<dyn HotState>> {
    match &cfg.redis_url {
        Some(url) => Ok(Arc::new(
            RedisHot::connect(url.expose())
                .await
                .context("connecting to REDIS_URL")?,
        )),
        None => Ok(Arc::new(MemoryHot::new())),
    }
}

pub fn auth(cfg: &Config) -> anyhow::Result<Auth> {
    let secret = signing_key(cfg)?;
    Ok(Auth::new(
        &secret,
        Duration::from_secs(cfg.token_ttl_hours * 3600),
    ))
}

/// What seals secrets at rest: `VIVA_ENCRYPTION_KEY`, or a key generated once into the data dir.
pub fn vault(cfg: &Config) -> anyhow::Result<crate::vault::Vault> {
    let key = crate::auth::load_or_create_key(
        cfg.encryption_key.as_ref().map(|s| s.expose()),
        &cfg.data_dir,
        "VIVA_ENCRYPTION_KEY",
        "encryption.key",
    )
    .context("loading the encryption key")?;
    Ok(crate::vault::Vault::new(&key))
}

/// The token signing key (configured, or generated once into the data dir).
fn signing_key(cfg: &Config) -> anyhow::Result<Vec<u8>> {
    load_or_create_secret(cfg.jwt_secret.as_ref().map(|s| s.expose()), &cfg.data_dir)
        .context("loading the token signing key")
}

/// The S3-compatible store of `VIVA_S3_*`, if one is configured.
fn s3_store(cfg: &Config) -> Option<crate::recording::S3Store> {
    let endpoint = cfg.s3_endpoint.clone()?;
    Some(crate::recording::S3Store::new(
        crate::recording::S3Settings {
            endpoint,
            bucket: cfg.s3_bucket.clone(),
            region: cfg.s3_region.clone(),
            access_key: cfg.s3_access_key_id.clone(),
            secret_key: cfg
                .s3_secret_access_key
                .clone()
                .unwrap_or_else(|| crate::config::Secret::new("")),
        },
    ))
}

/// Where recordings go: the S3-compatible store of `VIVA_S3_*`, else `<data dir>/recordings`;
/// spooled in `<data dir>/spool` while they are written.
pub fn open_recordings(
    cfg: &Config,
    interviews: Arc<dyn Store>,
) -> Arc<crate::recording::Recordings> {
    let store: Arc<dyn crate::recording::RecordingStore> = match s3_store(cfg) {
        Some(s3) => Arc::new(s3),
        None => Arc::new(crate::recording::DirStore::new(
            cfg.data_dir.join("recordings"),
        )),
    };
    Arc::new(crate::recording::Recordings {
        store,
        spool: cfg.data_dir.join("spool"),
        interviews: Some(interviews),
    })
}

/// Everything the interview actors share, from config.
pub fn build_deps(
    cfg: &Config,
    store: Arc<dyn Store>,
    hot: Arc<dyn HotState>,
    events: EventWriter,
    providers: Providers,
) -> Arc<Deps> {
    build_deps_with(cfg, store, hot, events, providers, None)
}

/// [`build_deps`], with organizations' own vendor keys.
pub fn build_deps_with(
    cfg: &Config,
    store: Arc<dyn Store>,
    hot: Arc<dyn HotState>,
    events: EventWriter,
    providers: Providers,
    byok: Option<Arc<crate::providers::byok::OrgProviders>>,
) -> Arc<Deps> {
    let speak = Arc::new(SpeakDeps {
        llm: providers.llm.clone(),
        tts: providers.tts.clone(),
        cache: Arc::new(AudioCache::new(cfg.tts_cache_entries)),
        voice: VoiceSettings {
            complexity: cfg.opus_complexity,
            bitrate_bps: cfg.opus_bitrate,
        },
    });
    let feed = crate::interview::remote::Feed::start(hot.clone());
    let recordings = Some(open_recordings(cfg, store.clone()));
    // With Redis, boards on other nodes see this node's interviews' statuses too; each lives
    // three lease renewals unless renewed.
    let board = if cfg.redis_url.is_some() {
        let ttl = Duration::from_secs(cfg.lease_secs.max(3));
        Arc::new(crate::interview::board::Board::shared(hot.clone(), ttl))
    } else {
        Arc::default()
    };
    Arc::new(Deps {
        store,
        hot,
        events,
        providers,
        speak,
        cfg: cfg.interview(),
        byok,
        board,
        feed,
        recordings,
        analyst: cfg.analyst(),
    })
}

/// Interview actors over in-memory storage, as `server::run` assembles them but without a
/// database: for tests and benches on paused tokio time (where a database pool's timeouts would
/// fire at once). Must be called inside a tokio runtime.
pub fn in_memory_registry(cfg: &Config) -> anyhow::Result<(Registry, Arc<MemoryStore>)> {
    in_memory_registry_with(cfg, Arc::new(MemoryHot::new()))
}

/// Like [`in_memory_registry`], with the given hot state (e.g. one that answers slowly).
pub fn in_memory_registry_with(
    cfg: &Config,
    hot: Arc<dyn HotState>,
) -> anyhow::Result<(Registry, Arc<MemoryStore>)> {
    let store = Arc::new(MemoryStore::new());
    let tracker = TaskTracker::new();
    let events = EventWriter::spawn(store.clone(), None, &tracker, CancellationToken::new());
    let providers = Providers::from_settings(&cfg.providers())?;
    let deps = build_deps(cfg, store.clone(), hot, events, providers);
    Ok((
        Registry::new(deps, tracker, CancellationToken::new()),
        store,
    ))
}

/// Runs the server until `shutdown` resolves, then drains: interviews checkpoint and
/// connections get 1012 (reconnect and resume).
pub async fn run(
    listener: TcpListener,
    cfg: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let storage = open_storage(&cfg).await?;
    let store = storage.store.clone();
    let hot = open_hot(&cfg).await?;
    let auth = Arc::new(auth(&cfg)?);
    let accounts = Arc::new(Accounts::new(
        storage.accounts.clone(),
        storage.keys.clone(),
        hot.clone(),
        storage.audit.clone(),
        &signing_key(&cfg)?,
    ));
    let providers = Providers::from_settings(&cfg.providers())?;
    let vault = vault(&cfg)?;

    let root = CancellationToken::new();
    let tracker = TaskTracker::new();
    let writer_cancel = CancellationToken::new();
    let writer_tracker = TaskTracker::new();
    // With Redis, events also go to each interview's live stream (monitors on other nodes,
    // resumes elsewhere); in-process hot state has nobody to share them with.
    let stream = cfg
        .redis_url
        .is_some()
        .then(|| (hot.clone(), cfg.replay_window.max(16)));
    let events = EventWriter::spawn(
        store.clone(),
        stream,
        &writer_tracker,
        writer_cancel.clone(),
    );

    // Organizations that bring their own vendor keys get providers built with them.
    let byok = Arc::new(crate::providers::byok::OrgProviders::new(
        cfg.providers(),
        providers.clone(),
        storage.provider_keys.clone(),
        vault.clone(),
    ));
    let deps = build_deps_with(
        &cfg,
        store.clone(),
        hot.clone(),
        events,
        providers,
        Some(byok),
    );
    let registry = Registry::new(deps, tracker.clone(), root.clone());
    // Candidates who reach another node ask for the interviews this node drives.
    tokio::spawn(crate::interview::handoff::serve(
        registry.clone(),
        hot.clone(),
        root.child_token(),
    ));
    let recording_store = registry.deps().recordings.as_ref().map(|r| r.store.clone());
    if let Some(s3) = s3_store(&cfg) {
        // A fresh store gets its bucket; a store that refuses is reported, not fatal (a
        // recording that cannot be kept stays in the spool directory, logged).
        if let Err(e) = s3.ensure_bucket().await {
            tracing::warn!(error = %e, bucket = %cfg.s3_bucket, "cannot reach or create the recordings bucket");
        }
    }
    let mut http_cfg = cfg.http();
    if http_cfg.configured_public_url.is_none() {
        // Links name the address actually bound (port 0 picks one).
        http_cfg.public_url = format!("http://{}", listener.local_addr()?);
    }
    let fd_limit = serve::raise_fd_limit();
    let max_connections = serve::connection_cap(http_cfg.max_connections, fd_limit);
    if max_connections < http_cfg.max_connections {
        tracing::warn!(
            fd_limit,
            max_connections,
            "VIVA_MAX_CONNECTIONS lowered to keep file descriptors for live interviews; raise the open-file limit (ulimit -n) to allow more"
        );
    }
    let connections = ConnectionLimits::new(
        max_connections,
        http_cfg.max_connections_per_ip,
        http_cfg.trusted_proxies.clone(),
    );
    let door = Door {
        limits: http_cfg.limits,
        origins: OriginPolicy::new(
            http_cfg.configured_public_url.as_deref(),
            &http_cfg.public_url,
            &http_cfg.cors_origins,
        ),
        connections: connections.clone(),
        max_monitors: http_cfg.max_monitors,
        public_url: http_cfg.public_url.clone(),
        vault: vault.clone(),
        webhooks_allow_private: cfg.webhooks_allow_private,
        metrics_token: cfg.metrics_token.as_ref().map(|t| t.expose().to_owned()),
    };
    let state = AppState::new(
        registry,
        auth,
        accounts,
        &storage,
        hot,
        door,
        tracker.clone(),
    );
    let router = http::router(state, http_cfg.web_dir.as_deref(), http_cfg.https());
    // Interview data past each organization's retention is deleted in the background.
    let retention = crate::retention::Retention {
        orgs: storage.orgs.clone(),
        interviews: storage.interviews.clone(),
        audit: storage.audit.clone(),
        recordings: recording_store,
    };
    tokio::spawn(retention.run(root.child_token()));
    // Webhook deliveries from the durable queue.
    if cfg.webhooks_worker {
        let deliverer = crate::webhooks::delivery::Deliverer::new(
            storage.webhooks.clone(),
            vault,
            cfg.webhooks_allow_private,
        );
        tokio::spawn(deliverer.run(root.child_token()));
    }

    // Assessments of completed interviews, from the durable job queue.
    if cfg.assessments_worker {
        let assessor = crate::assessment::worker::Assessor {
            jobs: storage.assessments.clone(),
            store: storage.store.clone(),
            analyst: cfg.analyst(),
            lease: std::time::Duration::from_secs(cfg.assessment_lease_secs.clamp(1, 86_400)),
        };
        tokio::spawn(assessor.run(root.child_token()));
    }

    log_sources(&cfg);
    tracing::info!(addr = %listener.local_addr()?, stt = ?cfg.stt_chain(), llm = ?cfg.llm_chain(), tts = ?cfg.tts_chain(), max_connections, "viva listening");
    // The drain: `/ready` turns 503 and new WebSockets are refused (503, so a load balancer
    // retries them elsewhere) while every live interview checkpoints, gives its lease up and
    // closes its candidate with 1012; the listener closes once they are all gone, or at the
    // deadline.
    let (stop, draining) = (root.clone(), tracker.clone());
    let deadline = Duration::from_secs(cfg.drain_secs);
    serve::serve(listener, router, connections, http_cfg.serve, async move {
        shutdown.await;
        // Interviews and WebSockets still running.
        let live = draining.len();
        tracing::info!(
            live,
            "draining: interviews checkpoint and move to other nodes"
        );
        stop.cancel();
        draining.close();
        if tokio::time::timeout(deadline, draining.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = draining.len(),
                "drain deadline (VIVA_DRAIN_SECS) passed; stopping anyway"
            );
        }
    })
    .await;
    // The drain above waited for the interviews (or gave up at its deadline, and said so).
    writer_cancel.cancel();
    writer_tracker.close();
    writer_tracker.wait().await;
    tracing::info!("stopped");
    Ok(())
}

/// Says at start which files this server uses, as absolute paths: nothing depends on the
/// working directory, and an operator can see at once what a relative setting resolved to.
fn log_sources(cfg: &Config) {
    let abs = |p: &std::path::Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_owned())
            .display()
            .to_string()
    };
    let database = match &cfg.database_url {
        Some(url) if url.expose().starts_with("sqlite:") => url.expose().to_owned(),
        Some(_) => "postgres (DATABASE_URL)".to_owned(),
        None => abs(&cfg.data_dir.join("viva.db")),
    };
    let whisper = cfg
        .stt_chain()
        .iter()
        .any(|s| s == crate::providers::whisper::NAME)
        .then(|| abs(&cfg.whisper_model));
    tracing::info!(
        data_dir = %abs(&cfg.data_dir),
        database = %database,
        web_client = %http::web::source(cfg.web_dir.as_deref()),
        whisper_model = whisper.as_deref().unwrap_or("not used"),
        "using"
    );
}
