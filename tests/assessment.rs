//! Assessments over the real server (SQLite with the model analyst — the OpenAI fake — and
//! Postgres with Redis with the heuristic one): an offline interview
//! completes, its assessment job is queued with the completion, a worker (driven by the test)
//! makes it — every score citing turns that exist, every quote in its turn's text — and a
//! regeneration whose first worker dies mid-job (claimed, never finished) is made once the lease
//! runs out, leaving exactly one assessment. Reading is for the organization's staff (another
//! organization gets 404); regenerating is for recruiters.

mod common;

use common::api::{consented, post, staff, Client};
use common::fakes::FakeVendor;
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;
use viva::assessment::worker::{Assessor, LEASE};

fn strong(topic: &str) -> String {
    format!(
        "For example, in my last project I used {topic}: first we measured, then we changed \
         the design, because the old one re-rendered too often; the trade-off was more code."
    )
}

async fn get(c: &Client, path: &str) -> (StatusCode, Value) {
    c.call(Method::GET, path, None).await
}

/// `method`: the server's analyst (`heuristic`, or `model`: the OpenAI fake).
async fn an_interview_is_assessed_once(server: &TestServer, fake: &FakeVendor, method: &str) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = post(
        &admin,
        "/v1/jobs",
        json!({"title": "React Developer", "skills": ["React", "Hooks", "State"]}),
    )
    .await;
    let cand = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    // Integrity signals: on for the heuristic run's organization, off (the default) for the other.
    let integrity = method == "heuristic";
    if integrity {
        let (s, org) = admin
            .call(
                Method::PATCH,
                "/v1/org",
                Some(json!({"integrity_signals": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{org}");
    }
    // The organization's own analyst prompt (the model follows it; the heuristic has none).
    let instructions = "Acme's analyst: score each answer 0-10 on relevance, completeness, \
        correctness and clarity, quote it word for word, and reply with JSON only.";
    post(
        &admin,
        "/v1/prompts",
        json!({"name": "analyst", "body": instructions}),
    )
    .await;
    let made = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": cand["id"], "max_questions": 3}),
    )
    .await;
    let (id, token) = consented(&admin, &made).await;
    let path = format!("/v1/interviews/{id}/assessment");
    let regenerate = format!("{path}/regenerate");
    let storage = viva::server::open_storage(&server.config).await.unwrap();
    let assessor = Assessor {
        jobs: storage.assessments.clone(),
        store: storage.store.clone(),
        analyst: server.config.analyst(),
        lease: LEASE,
    };

    // Not over yet: nothing to assess, nothing to regenerate.
    assert_eq!(get(&viewer, &path).await.0, StatusCode::CONFLICT);
    let (s, v) = admin.call(Method::POST, &regenerate, None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // The interview: three questions, answered well, then thinly, then well.
    let voice = speech("This is my answer.").await;
    let mut c = Candidate::join(server, id, &token, None).await;
    let answers = [
        strong("hooks and a custom hook for state"),
        "Not sure.".to_owned(),
        strong("useReducer for related state transitions"),
    ];
    let mut given = 0;
    while next_turn_heard(&mut c).await {
        // The closing is not answered.
        let said = final_agent_texts(&c.events());
        if said.last().is_some_and(|(_, t)| t.contains("Goodbye")) {
            continue;
        }
        let text = answers
            .get(given)
            .cloned()
            .unwrap_or_else(|| strong("memo"));
        given += 1;
        if given == 2 {
            // The page reports leaving and coming back, and a paste before a typed answer.
            for e in ["tab_hidden", "focus_lost", "tab_visible", "focus_gained"] {
                c.send_text(json!({"type": "client_event", "event": e}))
                    .await;
            }
            c.send_text(json!({"type": "client_event", "event": "paste", "chars": 9}))
                .await;
            c.answer(&text).await;
            c.final_transcript().await;
            continue;
        }
        answer_heard_as(&mut c, fake, &voice, text).await;
    }

    // Completed: the job was queued with the completion; a worker makes it.
    let (s, queued) = get(&viewer, &path).await;
    assert_eq!(
        (s, queued["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending")),
        "{queued}"
    );
    assert_eq!(assessor.pass().await.unwrap(), 1);
    assert_eq!(assessor.pass().await.unwrap(), 0, "done once");
    let (s, a) = get(&viewer, &path).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(
        (a["status"].as_str(), a["method"].as_str()),
        (Some("ready"), Some(method))
    );
    assert_eq!(a["generation"], 1);
    // The versions it rests on, the prompts the interview was made with among them.
    assert_eq!(
        a["versions"]["prompts"],
        json!({"interviewer": "interviewer.v1", "analyst": "analyst.org.v1", "assessor": "assessor.v1"})
    );
    if method == "model" {
        assert_eq!(
            a["versions"]["analyst"],
            format!("analyst.org.v1 ({})", server.config.openai_llm_model),
            "{a}"
        );
        let systems: Vec<String> = fake
            .state
            .structured("answer_analysis")
            .iter()
            .map(|b| b["messages"][0]["content"].as_str().unwrap().to_owned())
            .collect();
        assert!(!systems.is_empty());
        assert!(systems.iter().all(|s| s == instructions), "{systems:?}");
        // The model wrote the words from the scored answers (its assessor prompt: the
        // default); its strength cites the first answer only (the turn it invented is
        // dropped), its concern cited nothing real, so the rules' concerns stay.
        assert!(
            a["summary"]
                .as_str()
                .unwrap()
                .starts_with(&format!("The fake assessor read {given} answers.")),
            "{a}"
        );
        assert_eq!(
            a["versions"]["assessor"],
            format!(
                "assessor.v1 + assessor.v1 ({})",
                server.config.openai_llm_model
            )
        );
        let strengths = a["strengths"].as_array().unwrap();
        assert_eq!(strengths.len(), 1, "{a}");
        assert_eq!(
            strengths[0]["text"],
            "Answered the first question with an example."
        );
        let cited: Vec<&Value> = strengths[0]["cites"].as_array().unwrap().iter().collect();
        assert_eq!(cited.len(), 1, "{a}");
        assert_eq!(cited[0]["turn"], a["answers"][0]["turn"]);
    } else {
        assert!(
            a["versions"]["analyst"]
                .as_str()
                .unwrap()
                .starts_with("heuristic"),
            "{a}"
        );
    }
    let overall = a["overall"]["score"].as_u64().unwrap();
    assert!(overall <= 100, "{a}");
    assert_eq!(a["recommendation"]["advisory"], true);
    assert!(
        ["advance", "hold", "decline"].contains(&a["recommendation"]["decision"].as_str().unwrap())
    );
    let how = if method == "heuristic" {
        "heuristic"
    } else {
        "language model"
    };
    assert!(
        a["summary"].as_str().unwrap().contains(how),
        "{}",
        a["summary"]
    );
    for x in a["answers"].as_array().unwrap() {
        assert_eq!(x["analysis"]["method"], method, "{x}");
    }
    // Answers are scored; the thin one is a concern, and the strong ones outscore it.
    let scored = a["answers"].as_array().unwrap();
    assert_eq!(scored.len(), given, "{a}");
    let mean = |x: &Value| {
        let s = &x["analysis"]["scores"];
        ["relevance", "completeness", "correctness", "clarity"]
            .iter()
            .map(|d| s[d].as_f64().unwrap())
            .sum::<f64>()
    };
    assert!(mean(&scored[0]) > mean(&scored[1]), "{a}");
    assert!(
        a["concerns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["cites"][0]["turn"] == scored[1]["turn"]),
        "{a}"
    );
    assert!(!a["skills"].as_array().unwrap().is_empty(), "{a}");
    let stored_signals = storage.store.client_signals(id).await.unwrap();
    if integrity {
        // For review, with evidence; and no score depends on them: the same answers assessed
        // without them score the same.
        let review = &a["integrity"];
        assert_eq!(review["for_review"], true, "{a}");
        let kinds: Vec<&str> = review["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["tab_hidden", "paste"], "{review}");
        let paste = &review["signals"][1];
        assert_eq!(paste["evidence"][0]["turn"], scored[1]["turn"], "{paste}");
        assert!(
            paste["explanation"].as_str().unwrap().starts_with(
                "9 characters were pasted into the typed-answer box, then sent as turn"
            ),
            "{paste}"
        );
        assert!(review["signals"][0]["explanation"]
            .as_str()
            .unwrap()
            .contains(" for "));
        assert_eq!(stored_signals.len(), 5);
        let rec = storage.store.get_interview(id).await.unwrap().unwrap();
        let turns = storage.store.turns(id).await.unwrap();
        let input = viva::assessment::report::AssessInput {
            interview: &rec,
            turns: &turns,
            events: &[],
            generation: 1,
        };
        let analyst = server.config.analyst();
        let mut analysed = Vec::new();
        for ctx in viva::assessment::report::assessable(&input) {
            let x = analyst.analyse(&ctx, rec.prompts.as_deref()).await;
            analysed.push((ctx, x));
        }
        let plain = viva::assessment::report::assess(&input, analysed, &analyst);
        assert!(plain.integrity.is_none());
        let served: viva::assessment::Assessment = serde_json::from_value(a.clone()).unwrap();
        assert_eq!(plain.scores, served.scores);
        assert_eq!(plain.overall, served.overall);
        assert_eq!(plain.recommendation, served.recommendation);
    } else {
        // Off: the page's events are not even kept.
        assert!(a.get("integrity").is_none(), "{a}");
        assert!(stored_signals.is_empty(), "{stored_signals:?}");
    }
    assert!(
        !a["technical"]["latency"].as_array().unwrap().is_empty(),
        "{a}"
    );

    // Every score links to turns that exist, at their offsets, and each quote is in its turn.
    let (_, transcript) = get(&viewer, &format!("/v1/interviews/{id}/transcript")).await;
    let turns = transcript["turns"].as_array().unwrap();
    let check = |cite: &Value| {
        let t = turns
            .iter()
            .find(|t| t["turn"] == cite["turn"])
            .unwrap_or_else(|| panic!("no turn {cite}"));
        assert_eq!(t["speaker"], "candidate", "{cite}");
        assert_eq!(
            (t["start_ms"].clone(), t["end_ms"].clone()),
            (cite["start_ms"].clone(), cite["end_ms"].clone())
        );
        if let Some(q) = cite["quote"].as_str() {
            assert!(t["text"].as_str().unwrap().contains(q), "{q:?} not in {t}");
        }
    };
    let mut cited = 0;
    for s in a["scores"].as_array().unwrap() {
        for e in s["evidence"].as_array().unwrap() {
            check(e);
            cited += 1;
        }
    }
    for f in a["strengths"]
        .as_array()
        .unwrap()
        .iter()
        .chain(a["concerns"].as_array().unwrap())
    {
        for e in f["cites"].as_array().unwrap() {
            check(e);
        }
    }
    assert!(cited > 0, "{a}");
    for x in scored {
        let text = turns.iter().find(|t| t["turn"] == x["turn"]).unwrap()["text"]
            .as_str()
            .unwrap();
        for e in x["analysis"]["evidence"].as_array().into_iter().flatten() {
            let (s, n) = (
                e["start"].as_u64().unwrap() as usize,
                e["end"].as_u64().unwrap() as usize,
            );
            assert_eq!(&text[s..n], e["quote"]);
        }
    }

    // Another organization: no such interview. A viewer may read, not regenerate.
    assert_eq!(get(&other, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        other.call(Method::POST, &regenerate, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        viewer.call(Method::POST, &regenerate, None).await.0,
        StatusCode::FORBIDDEN
    );

    // Regenerated; the first worker to claim it dies mid-job (claimed, never finished).
    let (s, again) = admin.call(Method::POST, &regenerate, None).await;
    assert_eq!(
        (s, again["generation"].as_u64()),
        (StatusCode::ACCEPTED, Some(2)),
        "{again}"
    );
    assert_eq!(get(&viewer, &path).await.0, StatusCode::ACCEPTED);
    let now = chrono::Utc::now();
    let lease = now + chrono::Duration::from_std(LEASE).unwrap();
    let dead = storage
        .assessments
        .claim_assessments(now, lease, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    // While its lease holds, nobody else takes it; once it runs out, the job is made again.
    assert_eq!(assessor.pass().await.unwrap(), 0);
    assert_eq!(
        assessor
            .pass_at(lease + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    let (s, a2) = get(&viewer, &path).await;
    assert_eq!(
        (s, a2["generation"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{a2}"
    );
    // The dead worker's late result changes nothing: still one assessment, still done.
    let late = assessor.make(&dead[0]).await.unwrap();
    storage
        .assessments
        .complete_assessment(&dead[0], &late)
        .await
        .unwrap();
    let queued = storage
        .assessments
        .assessment_job(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((queued.generation, queued.attempts), (2, 2));
    assert!(storage.assessments.assessment(id).await.unwrap().is_some());
    assert_eq!(get(&viewer, &path).await.0, StatusCode::OK);
    assert_eq!(count_assessments(server, id).await, 1);

    // The candidate's history: this interview's figures, their trends, and a retake of the same
    // job (scheduled, not assessed yet) beside it.
    let retake = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": cand["id"], "max_questions": 3}),
    )
    .await;
    let history = format!("/v1/candidates/{}/history", cand["id"].as_str().unwrap());
    let (s, h) = get(&viewer, &history).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    let items = h["interviews"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{h}");
    assert_eq!(items[0]["interview_id"], json!(id));
    assert_eq!(items[0]["assessment_status"], "done");
    assert_eq!(items[0]["overall"], a2["overall"]["score"]);
    assert_eq!(items[1]["interview_id"], retake["id"]);
    assert_eq!(items[1]["assessment_status"], "none");
    assert_eq!(h["trends"]["overall"].as_array().unwrap().len(), 1, "{h}");
    assert!(h["trends"]["relevance"].is_array(), "{h}");
    assert_eq!(
        h["retakes"][0]["interviews"].as_array().unwrap().len(),
        2,
        "{h}"
    );
    assert_eq!(get(&other, &history).await.0, StatusCode::NOT_FOUND);
}

/// Rows in the assessments table for one interview (straight from the database).
async fn count_assessments(server: &TestServer, id: uuid::Uuid) -> i64 {
    let url = server
        .config
        .database_url
        .as_ref()
        .map(|u| u.expose().to_owned());
    match url {
        Some(u) if u.starts_with("postgres") => {
            let pool = sqlx::PgPool::connect(&u).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM assessments WHERE interview_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
        _ => {
            let path = server.config.data_dir.join("viva.db");
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display()))
                .await
                .unwrap();
            sqlx::query_scalar("SELECT count(*) FROM assessments WHERE interview_id = ?")
                .bind(id.to_string())
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    }
}

fn assessed_config(c: &mut viva::config::Config, fake: &FakeVendor, analyst: &str) {
    c.llm = vec!["offline-interviewer".into()];
    c.stt = vec!["openai".into()];
    c.openai_base_url = fake.openai_url();
    c.openai_api_key = Some(viva::config::Secret::new("sk-test-not-a-real-key-123456"));
    // The test drives the worker.
    c.assessments_worker = false;
    c.analyst = analyst.into();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assessments_on_the_embedded_store() {
    let fake = FakeVendor::start().await;
    let server = TestServer::start_with(|c| assessed_config(c, &fake, "openai")).await;
    an_interview_is_assessed_once(&server, &fake, "model").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assessments_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let fake = FakeVendor::start().await;
    let server = TestServer::start_with(|c| {
        use_services(c, &pg, &redis);
        assessed_config(c, &fake, "heuristic");
    })
    .await;
    an_interview_is_assessed_once(&server, &fake, "heuristic").await;
    server.shutdown().await;
}
