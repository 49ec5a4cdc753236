//! Viva: a real-time voice interview server.
//!
//! # Data path (one interview)
//!
//! ```text
//! browser ──WebSocket──▶ http::ws reader ──try_send──▶ interview::actor (one task per interview)
//!   20 ms Opus            (I/O only: size, rate,        │ listen: Opus→16 kHz→VAD→endpoint→STT session
//!                          RFC 6716 checks)             │ conversation: commit turn (store) → transcript
//!                                                       │ speak: LLM tokens→sentences→TTS→Opus (task)
//! browser ◀──WebSocket── http::ws writer ◀─Outbound─────┘ playback paced at real time (≤200 ms ahead)
//!                                                       └──▶ store (turns, event log), hot (checkpoint,
//!                                                            lease, live stream for other nodes)
//! ```
//!
//! # Modules
//! - [`protocol`]: wire types v1 — the only types serialised onto the WebSocket — and the
//!   OpenAI Realtime wire (`protocol::realtime`) the compatible endpoint speaks.
//! - [`http`]: routes and their OpenAPI document (`http::openapi`), the WebSocket sessions
//!   (reader/writer tasks; the native stream, monitors, the board, the OpenAI Realtime adapter),
//!   monitors relayed from other nodes, the REST API, HTTP errors.
//! - [`interview`]: the actor (handle + task), registry, listening, speaking, event log.
//! - [`audio`]: Opus packet checks, codec, VAD, endpointing, resampling, WAV, Ogg Opus, the
//!   interviewer's voice as packets (encoded, or a vendor's Opus passed through).
//! - [`providers`]: STT / LLM / TTS traits and implementations: vendors (OpenAI-compatible,
//!   Gemini, Deepgram) with retries and circuit breakers, offline Whisper on a bounded worker pool
//!   (feature `whisper-local`), espeak-ng, the offline interviewer, `scripted` test providers;
//!   chains with fallbacks.
//! - [`turns`]: turn-taking — whether the answer so far reads (or, without words, sounds)
//!   finished, the silence that ends
//!   the candidate's turn at each pause, and how many replies may be prepared during pauses
//!   (preemptive replies: `interview::actor::preempting`).
//! - [`store`]: durable [`store::Store`] (Postgres, or the embedded SQLite) and
//!   [`store::HotState`] (Redis, or in-process).
//! - [`accounts`]: recruiters — organizations, staff users and roles, argon2id passwords,
//!   sign-in sessions with rotating refresh tokens, the staff principal.
//! - [`hiring`]: what recruiters manage — job postings, candidates, interviews
//!   (organization-scoped).
//! - [`consent`]: the notice a candidate accepts before an AI interview starts.
//! - [`audit`]: the audit log (who did what in an organization, when, from where).
//! - [`retention`]: the background task deleting interview data past its organization's
//!   retention.
//! - [`plan`]: what the interviewer asks — question banks, each interview's plan from the job
//!   and the résumé, the offline interviewer's adaptive decisions.
//! - [`analysis`]: how well one answer met its question (the heuristic analyst; evidence as
//!   exact substrings).
//! - [`assessment`]: the assessment after the interview, made by a durable background job.
//! - [`integrity`]: signals for human review (client events, answer timing, reconnects); they
//!   never change a score.
//! - [`prompts`]: the model instructions (interviewer, analyst) — the server's defaults under
//!   `prompts/`, and organizations' own versions, one active per name.
//! - [`recording`]: both sides' audio as Ogg Opus files, in a directory or an S3-compatible
//!   store.
//! - [`auth`]: candidate JWTs and tickets. [`config`]: settings. [`server`]: assembly and run.
//! - [`metrics`]: Prometheus metrics (`/metrics`). [`periodic`]: background passes on a period.
//! - [`vault`]: secrets at rest (AES-256-GCM under `VIVA_ENCRYPTION_KEY`). [`interned`]:
//!   immutable values read from the store, one copy in memory.
//! - [`webhooks`]: signed notifications to organizations' endpoints, from a durable queue.
//! - [`cli`]: `viva serve | migrate | interview create | admin create`.

pub mod accounts;
pub mod analysis;
pub mod assessment;
pub mod audio;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod consent;
pub mod hiring;
pub mod http;
pub mod integrity;
pub mod interned;
pub mod interview;
pub mod metrics;
pub mod periodic;
pub mod plan;
pub mod prompts;
pub mod protocol;
pub mod providers;
pub mod rate;
pub mod recording;
pub mod retention;
pub mod secret;
pub mod server;
pub mod store;
pub mod turns;
pub mod vault;
pub mod webhooks;
