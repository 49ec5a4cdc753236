//! Watching interviews live as the hiring team, over the real server (SQLite, and Postgres
//! with Redis): the monitor-only messages (who is watching, the candidate's level and speech,
//! connection drops and resumes), notes (from the monitor and the REST API, stored, replayed
//! after a reconnecting monitor's snapshot, never sent to the candidate), and the live board
//! (`GET /v1/live`): a snapshot, the card appearing, updating and ending; another
//! organization's board never shows it; signing out closes it.

mod common;

use common::api::{code, consented, post, staff};
use common::services::{Postgres, Redis};
use common::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use viva::accounts::Role;

/// The next text message whose `type` is `ty` (others skipped); panics if the socket closes.
async fn next_of(ws: &mut Ws, ty: &str) -> Value {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == ty {
                    return v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("closed waiting for {ty}: {other:?}"),
        }
    }
}

/// The next message matching `pred` (others skipped).
async fn next_where(ws: &mut Ws, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if pred(&v) {
                    return v;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("closed waiting for {what}: {other:?}"),
        }
    }
}

async fn close_code(ws: &mut Ws) -> u16 {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

async fn the_hiring_team_watches_takes_notes_and_follows_the_board(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let rex = staff(server, "rex@acme.example", "Acme", Role::Recruiter).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let job = post(
        &admin,
        "/v1/jobs",
        json!({"title": "Site Reliability Engineer", "skills": ["databases", "monitoring"]}),
    )
    .await;
    let grace = post(
        &admin,
        "/v1/candidates",
        json!({"name": "Grace Hopper", "email": "grace@navy.example"}),
    )
    .await;
    let made = post(
        &admin,
        "/v1/interviews",
        json!({"job_id": job["id"], "candidate_id": grace["id"]}),
    )
    .await;
    let (id, token) = consented(&admin, &made).await;
    let live_url = format!("ws://{}/v1/live", server.addr);

    // The board before anything runs: an empty snapshot.
    let mut board = connect_url(&live_url, &rex.token).await;
    let snap = next_of(&mut board, "snapshot").await;
    assert_eq!(snap["interviews"], json!([]), "{snap}");

    // The candidate joins: the card appears, with who and what, connected.
    let mut c = Candidate::join(server, id, &token, None).await;
    hear_question(&mut c).await;
    let started = next_of(&mut board, "started").await;
    let card = &started["interview"];
    assert_eq!(card["interview_id"], json!(id), "{started}");
    assert_eq!(card["candidate_name"], "Grace Hopper");
    assert_eq!(card["role"], "Site Reliability Engineer");
    assert_eq!(card["live"]["candidate_connected"], true, "{started}");
    // Another organization's board, opened now, does not show it; a viewer's does.
    let mut foreign = connect_url(&live_url, &other.token).await;
    assert_eq!(
        next_of(&mut foreign, "snapshot").await["interviews"],
        json!([])
    );
    let mut viewer_board = connect_url(&live_url, &viewer.token).await;
    let snap = next_of(&mut viewer_board, "snapshot").await;
    assert_eq!(snap["interviews"][0]["interview_id"], json!(id), "{snap}");
    assert_eq!(snap["interviews"][0]["candidate_name"], "Grace Hopper");

    // Two watchers: each is told who watches.
    let monitor_url = server.monitor_url(id);
    let mut mon = connect_url(&monitor_url, &rex.token).await;
    let mut mon2 = connect_url(&monitor_url, &viewer.token).await;
    let both = next_where(&mut mon, "two watchers", |v| {
        v["type"] == "watchers" && v["watchers"].as_array().unwrap().len() == 2
    })
    .await;
    let mut names: Vec<(&str, &str)> = both["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["name"].as_str().unwrap(), w["role"].as_str().unwrap()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("rex@acme.example", "recruiter"),
            ("vi@acme.example", "viewer")
        ],
        "{both}"
    );
    // The board counts them.
    next_where(&mut board, "two watchers on the card", |v| {
        v["type"] == "update" && v["live"]["watchers"] == 2
    })
    .await;

    // A note from the monitor: taken, shown to the other watcher, stored.
    const NOTE: &str = "Strong on incident response; probe capacity planning.";
    mon.send(text(json!({"type": "note", "text": NOTE})))
        .await
        .unwrap();
    let ack = next_of(&mut mon, "steered").await;
    assert_eq!(
        (ack["action"].as_str(), ack["accepted"].as_bool()),
        (Some("note"), Some(true))
    );
    let shown = next_of(&mut mon2, "note").await;
    assert_eq!(
        (
            shown["kind"].as_str(),
            shown["text"].as_str(),
            shown["author"].as_str()
        ),
        (Some("note"), Some(NOTE), Some("rex@acme.example")),
        "{shown}"
    );
    assert!(shown.get("seq").is_none());
    // An empty note is refused (not stored); a viewer's note closes its socket with 4003.
    mon.send(text(json!({"type": "note", "text": "  "})))
        .await
        .unwrap();
    assert_eq!(next_of(&mut mon, "steered").await["accepted"], false);
    mon2.send(text(json!({"type": "note", "text": "mine"})))
        .await
        .unwrap();
    assert_eq!(close_code(&mut mon2).await, 4003);

    // The candidate speaks: the watchers hear of it (speech, a level with speech in it), with
    // no seq, and the candidate's own event log stays gap-free.
    c.say(speech("I keep services up with good alerts and calm runbooks.").await)
        .await;
    next_where(&mut mon, "speech starts", |v| {
        v["type"] == "speech" && v["speaking"] == true
    })
    .await;
    let level = next_where(&mut mon, "a level with speech", |v| {
        v["type"] == "level" && v["speaking"] == true
    })
    .await;
    let dbfs = level["dbfs"].as_f64().unwrap();
    assert!((-60.0..=0.0).contains(&dbfs), "{level}");
    c.final_transcript().await;
    hear_question(&mut c).await;
    let seqs: Vec<u64> = c.events().iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gap-free: {seqs:?}"
    );

    // The REST API: notes are listed for a viewer, added by a recruiter; a viewer may not add,
    // another organization does not find the interview, an empty note is a 400.
    let path = format!("/v1/interviews/{id}/notes");
    let (s, listed) = viewer.call(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["text"], NOTE);
    let (s, v) = viewer
        .call(Method::POST, &path, Some(json!({"text": "hm"})))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "AUTHORIZATION_ERROR"),
        "{v}"
    );
    for (method, body) in [
        (Method::GET, None),
        (Method::POST, Some(json!({"text": "x"}))),
    ] {
        let (s, v) = other.call(method, &path, body).await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{v}");
    }
    let (s, v) = rex
        .call(Method::POST, &path, Some(json!({"text": ""})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = rex
        .call(Method::POST, &path, Some(json!({"text": "x", "pin": true})))
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {v}"
    );
    let added = post(&rex, &path, json!({"text": "Ask about on-call."})).await;
    assert_eq!(added["kind"], "note");
    // Those watching see it live.
    assert_eq!(next_of(&mut mon, "note").await["id"], added["id"]);

    // A monitor that reconnects gets the notes after its snapshot, oldest first.
    let mut again = connect_url(&monitor_url, &rex.token).await;
    let mut kinds = Vec::new();
    let mut notes = Vec::new();
    while notes.len() < 2 {
        let Some(Ok(Message::Text(t))) = again.next().await else {
            panic!("monitor closed")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        kinds.push(v["type"].as_str().unwrap().to_owned());
        if v["type"] == "note" {
            notes.push(v["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(kinds[..2], ["ready", "resync"], "{kinds:?}");
    assert_eq!(notes, [NOTE, "Ask about on-call."]);
    drop(again);

    // The candidate's connection drops: the watchers and the board are told; then it resumes.
    let resume = c.resume_point();
    c.drop_connection();
    let dropped = next_where(&mut mon, "the drop", |v| {
        v["type"] == "candidate_connection" && v["event"] == "dropped"
    })
    .await;
    assert!(dropped["reason"].is_string(), "{dropped}");
    next_where(&mut board, "the drop on the card", |v| {
        v["type"] == "update"
            && v["live"]["candidate_connected"] == false
            && v["live"]["drops"] == 1
    })
    .await;
    let mut c = Candidate::rejoin(server, id, &token, resume).await;
    next_where(&mut mon, "the resume", |v| {
        v["type"] == "candidate_connection" && v["event"] == "resumed"
    })
    .await;
    next_where(&mut board, "back on the card", |v| {
        v["type"] == "update" && v["live"]["candidate_connected"] == true
    })
    .await;

    // An answer is analysed beside the interview: the watchers see its scores and evidence.
    const ANSWER: &str = "For example, at my last job the database ran out of connections. \
        First we capped the pool, then we added monitoring on saturation, because otherwise \
        users find out before we do.";
    c.answer(ANSWER).await;
    let a = next_of(&mut mon, "analysis").await;
    let analysis = &a["analysis"];
    assert_eq!(
        (analysis["method"].as_str(), analysis["status"].as_str()),
        (Some("heuristic"), Some("scored")),
        "{a}"
    );
    for dim in ["relevance", "completeness", "correctness", "clarity"] {
        assert!(analysis["scores"][dim].as_u64().unwrap() <= 10, "{a}");
    }
    assert!(a["question_turn"].as_u64() < a["turn"].as_u64(), "{a}");
    let evidence = analysis["evidence"].as_array().expect("evidence");
    assert!(!evidence.is_empty(), "{a}");
    for e in evidence {
        let (start, end) = (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap());
        assert_eq!(&ANSWER[start as usize..end as usize], e["quote"], "{a}");
    }

    // Ended from the monitor: the end is on the record with the notes; the board's card ends.
    mon.send(text(json!({"type": "end", "reason": "Enough for today"})))
        .await
        .unwrap();
    assert_eq!(next_of(&mut mon, "steered").await["accepted"], true);
    c.until("ended", |e| {
        matches!(e, viva::protocol::Event::Ended { .. })
    })
    .await;
    let ended = next_of(&mut board, "ended").await;
    assert_eq!(
        (ended["interview_id"].clone(), ended["reason"].as_str()),
        (json!(id), Some("cancelled")),
        "{ended}"
    );
    let (_, listed) = viewer.call(Method::GET, &path, None).await;
    let kinds: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["note", "note", "end"], "{listed}");
    assert_eq!(listed["items"][2]["text"], "Enough for today");

    // Signing out closes the board (4001).
    let (s, _) = rex.call(Method::POST, "/v1/auth/logout", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut board).await, 4001);
    // A board without credentials is refused (4001); a board sends nothing (4002).
    let mut anonymous = connect_url(&live_url, "not-a-token").await;
    assert_eq!(close_code(&mut anonymous).await, 4001);
    viewer_board
        .send(text(json!({"type": "subscribe"})))
        .await
        .unwrap();
    assert_eq!(close_code(&mut viewer_board).await, 4002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_monitoring_on_the_embedded_store() {
    let server = TestServer::start().await;
    the_hiring_team_watches_takes_notes_and_follows_the_board(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_monitoring_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    the_hiring_team_watches_takes_notes_and_follows_the_board(&server).await;
}
