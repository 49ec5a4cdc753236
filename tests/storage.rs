//! One storage suite, two backends: the embedded default (SQLite + in-process hot state) and
//! production (a real Postgres + a real Redis, each started for the test).

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use common::services::{Postgres, Redis};
use uuid::Uuid;
use viva::protocol::TurnKind;
use viva::protocol::{InterviewState, Speaker, TurnTimings};
use viva::store::memory::MemoryHot;
use viva::store::postgres::{PgSettings, PgStore};
use viva::store::redis::RedisHot;
use viva::store::sqlite::SqliteStore;
use viva::store::{
    Checkpoint, Claim, HotState, InterviewStatus, NewInterview, ProviderNames, Store, StoreError,
    StoredEvent, TurnRecord, CHECKPOINT_VERSION,
};

fn now() -> DateTime<Utc> {
    // Both databases keep microseconds.
    Utc::now().trunc_subsecs(6)
}

fn turn(id: Uuid, seq: u32, speaker: Speaker, text: &str) -> TurnRecord {
    let t = now();
    TurnRecord {
        suggested: false,
        interview_id: id,
        seq,
        speaker,
        kind: if speaker == Speaker::Candidate {
            TurnKind::Answer
        } else {
            TurnKind::Question
        },
        text: text.into(),
        transcribed: true,
        interrupted: false,
        audio_ms: 1234 + seq,
        started_at: t,
        ended_at: t + chrono::Duration::milliseconds(1500),
        timings: None,
        decision: None,
    }
}

fn event(id: Uuid, seq: u64) -> StoredEvent {
    // Key order and spacing as sent: replay must give back the same bytes.
    StoredEvent {
        interview_id: id,
        seq,
        body: format!(
            r#"{{"seq":{seq},"ts":"2026-11-24T00:00:00Z","type":"state","state":"listening" }}"#
        ),
    }
}

/// `fenced`: the store checks turn writes' fencing tokens (Postgres, for many nodes; SQLite is
/// one node's store and keeps none).
async fn store_contract(store: Arc<dyn Store>, fenced: bool) {
    // The plan is stored with the interview and read back whole.
    let plan = viva::plan::build::from_text(
        "Backend Engineer",
        "Rust, Postgres\n\nSkills: databases, api-design.",
        "Projects\n- Ledger — a payments ledger",
        None,
        4,
    );
    let rec = store
        .create_interview(&NewInterview {
            role: "Backend Engineer".into(),
            job_description: Some("Rust, Postgres".into()),
            resume: None,
            plan: Some(Arc::new(plan.clone())),
            ..Default::default()
        })
        .await
        .unwrap();
    let got = store.get_interview(rec.id).await.unwrap().unwrap();
    assert_eq!(got.plan.as_deref(), Some(&plan));
    assert_eq!(plan.project.as_deref(), Some("Ledger"));
    assert_eq!(got.role, "Backend Engineer");
    assert_eq!(got.job_description.as_deref(), Some("Rust, Postgres"));
    assert_eq!(got.status, InterviewStatus::Scheduled);
    assert!(got.started_at.is_none());
    assert!(store.get_interview(Uuid::now_v7()).await.unwrap().is_none());

    // Status: started_at stamped once, completed_at on completion.
    let names = ProviderNames {
        stt: "scripted".into(),
        llm: "scripted".into(),
        tts: "scripted".into(),
    };
    store
        .set_status(rec.id, InterviewStatus::InProgress, Some(&names))
        .await
        .unwrap();
    let started = store.get_interview(rec.id).await.unwrap().unwrap();
    assert_eq!(started.status, InterviewStatus::InProgress);
    let started_at = started.started_at.expect("started_at stamped");
    store
        .set_status(rec.id, InterviewStatus::InProgress, None)
        .await
        .unwrap();
    let again = store.get_interview(rec.id).await.unwrap().unwrap();
    assert_eq!(again.started_at, Some(started_at), "stamped only once");

    // Turns: idempotent on (interview_id, seq), read back in order, exactly as written.
    let mut q = turn(rec.id, 0, Speaker::Interviewer, "Tell me about yourself.");
    q.timings = Some(TurnTimings {
        response_ms: 420,
        llm_first_token_ms: 300,
        ..TurnTimings::default()
    });
    // A question the hiring team suggested keeps its mark, and a decision its reasons.
    q.suggested = true;
    q.decision = Some(viva::plan::adaptive::next(&plan, &[]));
    let a = turn(rec.id, 1, Speaker::Candidate, "I build voice systems.");
    store.insert_turn(&a, 1).await.unwrap();
    store.insert_turn(&q, 1).await.unwrap();
    store.insert_turn(&a, 1).await.unwrap();
    let mut changed = a.clone();
    changed.text = "a different text for the same turn".into();
    store.insert_turn(&changed, 1).await.unwrap();
    let turns = store.turns(rec.id).await.unwrap();
    assert_eq!(
        turns,
        vec![q.clone(), a.clone()],
        "each turn once, first write wins"
    );

    // Fencing: once an owner with token 3 has written, one with a lower token (a stale owner
    // that lost its lease) cannot write, not even a turn nobody wrote yet; the newer owner and
    // any later one can.
    let next = turn(
        rec.id,
        2,
        Speaker::Interviewer,
        "From the owner with token 3.",
    );
    store.insert_turn(&next, 3).await.unwrap();
    let stale = turn(rec.id, 3, Speaker::Interviewer, "From a stale owner.");
    let written = store.insert_turn(&stale, 2).await;
    if fenced {
        assert!(matches!(written, Err(StoreError::Fenced)), "{written:?}");
        assert_eq!(store.fence(rec.id).await.unwrap(), 3);
        let later = turn(
            rec.id,
            3,
            Speaker::Interviewer,
            "From the owner with token 4.",
        );
        store.insert_turn(&later, 4).await.unwrap();
        assert_eq!(store.fence(rec.id).await.unwrap(), 4);
        let turns = store.turns(rec.id).await.unwrap();
        assert_eq!(turns.len(), 4);
        assert_eq!(
            turns[3].text, later.text,
            "the stale owner's turn is not there"
        );
        // A new owner claims the fence before reading: the older one cannot write after that.
        assert!(store.claim_fence(rec.id, 5).await.unwrap());
        assert!(
            !store.claim_fence(rec.id, 4).await.unwrap(),
            "a newer claim holds"
        );
        let after_claim = turn(rec.id, 4, Speaker::Interviewer, "From the owner with 4.");
        assert!(matches!(
            store.insert_turn(&after_claim, 4).await,
            Err(StoreError::Fenced)
        ));
        assert_eq!(store.turns(rec.id).await.unwrap().len(), 4);
    } else {
        assert!(store.claim_fence(rec.id, 1).await.unwrap());
        written.unwrap();
        assert_eq!(store.fence(rec.id).await.unwrap(), 0);
    }

    // A turn of an interview that does not exist is refused (foreign key), not stored.
    let orphan = turn(Uuid::now_v7(), 0, Speaker::Candidate, "nobody's");
    assert!(store.insert_turn(&orphan, 1).await.is_err());
    assert!(store.turns(orphan.interview_id).await.unwrap().is_empty());

    // Events: idempotent, newest `limit` after a seq, oldest first, bytes unchanged.
    assert_eq!(store.max_event_seq(rec.id).await.unwrap(), 0);
    let first: Vec<StoredEvent> = (1..=5).map(|s| event(rec.id, s)).collect();
    store.append_events(&first).await.unwrap();
    let overlap: Vec<StoredEvent> = (4..=8).map(|s| event(rec.id, s)).collect();
    store.append_events(&overlap).await.unwrap();
    store.append_events(&[]).await.unwrap();
    assert_eq!(store.max_event_seq(rec.id).await.unwrap(), 8);
    let all = store.events_after(rec.id, 0, 100).await.unwrap();
    assert_eq!(all, (1..=8).map(|s| event(rec.id, s)).collect::<Vec<_>>());
    let tail = store.events_after(rec.id, 2, 3).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![6, 7, 8]
    );

    store
        .set_status(rec.id, InterviewStatus::Completed, None)
        .await
        .unwrap();
    let done = store.get_interview(rec.id).await.unwrap().unwrap();
    assert_eq!(done.status, InterviewStatus::Completed);
    assert!(done.completed_at.unwrap() >= started_at);
}

async fn hot_contract(hot: Arc<dyn HotState>, shared_stream: bool) {
    let id = Uuid::now_v7();
    assert!(hot.load_checkpoint(id).await.unwrap().is_none());
    let cp = Checkpoint {
        v: CHECKPOINT_VERSION,
        interview_id: id,
        next_seq: 42,
        next_turn: 3,
        state: InterviewState::Listening,
        updated_at: now(),
        unsaved: vec![turn(
            id,
            2,
            Speaker::Candidate,
            "kept while the store is down",
        )],
        clean: true,
        resume_secret: Some("a-resume-secret".into()),
        holder_connected: true,
        fence: 2,
    };
    hot.save_checkpoint(&cp).await.unwrap();
    assert_eq!(hot.load_checkpoint(id).await.unwrap(), Some(cp.clone()));

    // Tickets are single use.
    let ttl = Duration::from_secs(60);
    hot.put_ticket("t-1", id, ttl).await.unwrap();
    assert_eq!(hot.take_ticket("t-1").await.unwrap(), Some(id));
    assert_eq!(hot.take_ticket("t-1").await.unwrap(), None);
    assert_eq!(hot.take_ticket("never-issued").await.unwrap(), None);

    // A checkpoint from a lower fence (a stale owner) does not overwrite a newer owner's.
    let stale = Checkpoint {
        fence: 1,
        next_seq: 99,
        ..cp.clone()
    };
    assert!(matches!(
        hot.save_checkpoint(&stale).await,
        Err(StoreError::Fenced)
    ));
    assert_eq!(hot.load_checkpoint(id).await.unwrap(), Some(cp.clone()));

    // Leases: one node at a time; renewable by its holder (same generation); free once
    // released; every new holder gets a higher generation, above the floor it is given.
    let first = hot
        .acquire_lease(id, "node-a", ttl, Claim::Take { floor: 0 })
        .await
        .unwrap()
        .expect("free");
    assert_eq!(
        hot.acquire_lease(id, "node-b", ttl, Claim::Take { floor: 0 })
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, Claim::Take { floor: 0 })
            .await
            .unwrap(),
        Some(first),
        "renewed"
    );
    hot.release_lease(id, "node-b").await.unwrap();
    assert_eq!(
        hot.acquire_lease(id, "node-b", ttl, Claim::Take { floor: 0 })
            .await
            .unwrap(),
        None,
        "only the holder releases"
    );
    hot.release_lease(id, "node-a").await.unwrap();
    let second = hot
        .acquire_lease(id, "node-b", ttl, Claim::Take { floor: 0 })
        .await
        .unwrap();
    assert_eq!(second, Some(first + 1), "the next holder's generation");
    hot.release_lease(id, "node-b").await.unwrap();
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, Claim::Take { floor: 40 })
            .await
            .unwrap(),
        Some(41),
        "above the store's fence"
    );
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, Claim::Take { floor: 41 })
            .await
            .unwrap(),
        Some(41),
        "renewed: its own writes raised the fence to its generation"
    );
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, Claim::Take { floor: 50 })
            .await
            .unwrap(),
        Some(51),
        "someone with a higher token wrote since: the holder's generation is stale"
    );
    // Renewing: kept at the generation held; refused for one no longer held; after an expiry
    // nobody used, still the holder's; after another node took it, not.
    let renew = |held| Claim::Renew { held };
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, renew(51))
            .await
            .unwrap(),
        Some(51)
    );
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, renew(41))
            .await
            .unwrap(),
        None
    );
    hot.release_lease(id, "node-a").await.unwrap();
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, renew(51))
            .await
            .unwrap(),
        Some(51)
    );
    hot.release_lease(id, "node-a").await.unwrap();
    assert_eq!(
        hot.acquire_lease(id, "node-b", ttl, Claim::Take { floor: 0 })
            .await
            .unwrap(),
        Some(52)
    );
    hot.release_lease(id, "node-b").await.unwrap();
    assert_eq!(
        hot.acquire_lease(id, "node-a", ttl, renew(51))
            .await
            .unwrap(),
        None
    );

    // Revoked tokens.
    assert!(!hot.is_revoked("jti-1").await.unwrap());
    hot.revoke_token("jti-1", ttl).await.unwrap();
    assert!(hot.is_revoked("jti-1").await.unwrap());
    assert!(!hot.is_revoked("jti-2").await.unwrap());

    // Rate limits: `limit` hits per window and key.
    for _ in 0..3 {
        assert!(hot.rate_limit("ip:1", 3, ttl).await.unwrap());
    }
    assert!(!hot.rate_limit("ip:1", 3, ttl).await.unwrap());
    assert!(hot.rate_limit("ip:2", 3, ttl).await.unwrap());

    // The live stream.
    let first: Vec<StoredEvent> = (1..=5).map(|s| event(id, s)).collect();
    hot.publish_events(&first, 100).await.unwrap();
    let retried: Vec<StoredEvent> = (3..=6).map(|s| event(id, s)).collect();
    hot.publish_events(&retried, 100).await.unwrap();
    let read = hot.read_events(id, 2, Duration::ZERO).await.unwrap();
    if shared_stream {
        assert_eq!(read, (3..=6).map(|s| event(id, s)).collect::<Vec<_>>());
        // A blocked reader wakes for the next event.
        let reader = {
            let hot = hot.clone();
            tokio::spawn(async move { hot.read_events(id, 6, Duration::from_secs(30)).await })
        };
        hot.publish_events(&[event(id, 7)], 100).await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), vec![event(id, 7)]);
        // A quiet stream is not an error: a wait longer than a command's deadline (2 s) that
        // sees nothing returns nothing (a monitor on another node watches a pause).
        let quiet = hot.read_events(id, 7, Duration::from_secs(3)).await;
        assert_eq!(quiet.unwrap(), vec![]);
        // Capped: a long interview keeps about `cap` recent events.
        let many: Vec<StoredEvent> = (8..=400).map(|s| event(id, s)).collect();
        hot.publish_events(&many, 50).await.unwrap();
        let kept = hot.read_events(id, 0, Duration::ZERO).await.unwrap();
        assert!(
            kept.len() < 200,
            "stream not capped: {} entries",
            kept.len()
        );
        assert_eq!(kept.last().unwrap().seq, 400);
        // A long tail is read whole, in order (it takes several pages).
        let long = Uuid::now_v7();
        let events: Vec<StoredEvent> = (1..=2500).map(|s| event(long, s)).collect();
        hot.publish_events(&events, 10_000).await.unwrap();
        assert_eq!(
            hot.read_events(long, 0, Duration::ZERO).await.unwrap(),
            events
        );
    } else {
        assert!(read.is_empty(), "one process has no shared stream");
    }
}

#[tokio::test]
async fn embedded_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("viva.db"))
        .await
        .unwrap();
    store_contract(Arc::new(store), false).await;
}

#[tokio::test]
async fn postgres_store_keeps_the_contract() {
    let pg = Postgres::start();
    let store = PgStore::connect(&pg.url(), PgSettings::default())
        .await
        .unwrap();
    store_contract(Arc::new(store.clone()), true).await;
    // Migrations are idempotent: a second node starting against the same database is fine.
    PgStore::connect(&pg.url(), PgSettings::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn in_process_hot_state_keeps_the_contract() {
    hot_contract(Arc::new(MemoryHot::new()), false).await;
}

#[tokio::test]
async fn redis_hot_state_keeps_the_contract() {
    let redis = Redis::start();
    let hot = RedisHot::connect(&redis.url()).await.unwrap();
    hot_contract(Arc::new(hot), true).await;
}

#[tokio::test]
async fn the_postgres_schema_refuses_bad_rows() {
    let pg = Postgres::start();
    let store = PgStore::connect(&pg.url(), PgSettings::default())
        .await
        .unwrap();
    let pool = store.pool();
    let bad = [
        // status outside the allowed set
        "INSERT INTO interviews (id, role, status) VALUES (gen_random_uuid(), 'x', 'paused')",
        // empty role
        "INSERT INTO interviews (id, role) VALUES (gen_random_uuid(), '')",
        // a recruiter without an organization
        "INSERT INTO users (id, email, role) VALUES (gen_random_uuid(), 'r@example.com', 'recruiter')",
    ];
    for sql in bad {
        assert!(
            sqlx::query(sql).execute(pool).await.is_err(),
            "accepted: {sql}"
        );
    }
    // Rows with a real parent, so that the rule named is what refuses them (not the foreign key).
    let parent = store
        .create_interview(&NewInterview {
            role: "Analyst".into(),
            ..NewInterview::default()
        })
        .await
        .unwrap()
        .id;
    let refused_by = |sql: &'static str| async move {
        match sqlx::query(sql).bind(parent).execute(pool).await {
            Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
            other => panic!("accepted or failed otherwise: {sql}: {other:?}"),
        }
    };
    // a turn that ends before it starts: the CHECK (23514 check_violation)
    let code = refused_by(
        "INSERT INTO turns (interview_id, seq, speaker, kind, text, transcribed, interrupted, \
         audio_ms, started_at, ended_at) VALUES ($1, 0, 'candidate', 'answer', \
         '', true, false, 0, now(), now() - interval '1 second')",
    )
    .await;
    assert_eq!(code.as_deref(), Some("23514"));
    // an event body that is not JSON: the json type (22P02 invalid_text_representation)
    let code =
        refused_by("INSERT INTO events (interview_id, seq, body) VALUES ($1, 1, 'not json')").await;
    assert_eq!(code.as_deref(), Some("22P02"));
    // Emails are unique regardless of case.
    sqlx::query("INSERT INTO users (id, email, role) VALUES (gen_random_uuid(), 'Ada@example.com', 'candidate')")
        .execute(pool)
        .await
        .unwrap();
    assert!(sqlx::query(
        "INSERT INTO users (id, email, role) VALUES (gen_random_uuid(), 'ada@EXAMPLE.com', 'candidate')"
    )
    .execute(pool)
    .await
    .is_err());
}

#[tokio::test]
async fn a_bad_database_url_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::scripted_config(dir.path());
    cfg.database_url = Some(viva::config::Secret::new("mysql://localhost/viva"));
    let err = viva::server::open_store(&cfg).await.err().unwrap();
    assert!(
        err.to_string().contains("DATABASE_URL must start with"),
        "{err}"
    );
    // Nothing listens on this port: a clear error, not a hang.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    cfg.database_url = Some(viva::config::Secret::new(format!(
        "postgres://viva@127.0.0.1:{port}/viva"
    )));
    let err = viva::server::open_store(&cfg).await.err().unwrap();
    assert!(
        format!("{err:#}").contains("connecting to DATABASE_URL"),
        "{err:#}"
    );
    assert!(
        !format!("{err:#}").contains("viva@"),
        "credentials leaked: {err:#}"
    );
    cfg.database_url = None;
    cfg.redis_url = Some(viva::config::Secret::new(format!(
        "redis://127.0.0.1:{port}"
    )));
    let err = viva::server::open_hot(&cfg).await.err().unwrap();
    assert!(
        format!("{err:#}").contains("connecting to REDIS_URL"),
        "{err:#}"
    );
}

#[tokio::test]
async fn the_database_holds_no_audio() {
    // The only binary columns are encrypted provider keys (and sqlx's migration checksums):
    // no table can hold audio.
    let pg = Postgres::start();
    let store = PgStore::connect(&pg.url(), PgSettings::default())
        .await
        .unwrap();
    let binary: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('bytea', 'oid') \
         AND table_name <> '_sqlx_migrations' ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let binary: Vec<(&str, &str)> = binary
        .iter()
        .map(|(t, c)| (t.as_str(), c.as_str()))
        .collect();
    assert_eq!(binary, [("api_keys", "ciphertext"), ("api_keys", "nonce")]);
    // The embedded store likewise: no BLOB column anywhere.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("viva.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let sqlite = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let blobs: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name <> '_sqlx_migrations' AND upper(p.type) = 'BLOB'",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap();
    assert_eq!(blobs, Vec::<(String, String)>::new());
}

/// A database made before interviews could be cancelled (migration 7) keeps its interviews and
/// their turns through the migration that widens the status rule in place, and takes the new
/// status after it.
#[tokio::test]
async fn an_embedded_database_from_before_cancelling_keeps_its_turns() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("viva.db");
    let mut old = sqlx::migrate::Migrator::new(std::path::Path::new("migrations/sqlite"))
        .await
        .unwrap();
    old.migrations = old
        .migrations
        .iter()
        .filter(|m| m.version <= 7)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    old.run(&pool).await.unwrap();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO interviews (id, role, status, created_at) \
         VALUES (?, 'Analyst', 'in_progress', '2026-11-01T00:00:00Z')",
    )
    .bind(id.to_string())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO turns (interview_id, seq, speaker, kind, text, transcribed, interrupted, \
         audio_ms, started_at, ended_at) VALUES (?, 1, 'candidate', 'answer', 'Kept.', 1, 0, \
         0, '2026-11-01T00:00:00Z', '2026-11-01T00:00:01Z')",
    )
    .bind(id.to_string())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
    let turns = store.turns(id).await.unwrap();
    assert_eq!(turns.len(), 1, "the turn survives the migration");
    assert_eq!(turns[0].text, "Kept.");
    let rec = store.get_interview(id).await.unwrap().unwrap();
    assert!(
        rec.link_works("any") && !rec.needs_consent(),
        "old links keep working"
    );
    store
        .set_status(id, InterviewStatus::Cancelled, None)
        .await
        .unwrap();
    assert_eq!(
        store.get_interview(id).await.unwrap().unwrap().status,
        InterviewStatus::Cancelled
    );
    // Cancelled is final, and the rule still refuses a status it does not know.
    store
        .set_status(id, InterviewStatus::Completed, None)
        .await
        .unwrap();
    assert_eq!(
        store.get_interview(id).await.unwrap().unwrap().status,
        InterviewStatus::Cancelled
    );
    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let refused = sqlx::query("UPDATE interviews SET status = 'paused' WHERE id = ?")
        .bind(id.to_string())
        .execute(&raw)
        .await;
    assert!(refused.is_err(), "the status rule still holds");
}
