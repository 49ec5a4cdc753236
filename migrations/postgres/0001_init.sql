-- Production schema (PostgreSQL 13+). Plural snake_case tables, UUID keys, foreign keys named
-- <table_singular>_id, timestamps as timestamptz (UTC). The embedded default's SQLite schema
-- (migrations/sqlite) holds the subset the live interview path needs; the Store trait is the
-- contract both implement.

CREATE TABLE organizations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (position('@' IN email) > 1),
    name            text,
    role            text NOT NULL CHECK (role IN ('candidate', 'recruiter', 'admin')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Staff belong to an organization; candidates may not.
    CHECK (role = 'candidate' OR organization_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_id_idx ON users (organization_id);

CREATE TABLE job_postings (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL, -- the recruiter who wrote it
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('draft', 'open', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_postings_organization_id_created_at_idx
    ON job_postings (organization_id, created_at DESC);

CREATE TABLE resumes (
    id         uuid PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE, -- the candidate
    body       text NOT NULL,
    parsed     jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resumes_user_id_idx ON resumes (user_id);

CREATE TABLE interviews (
    id                uuid PRIMARY KEY,
    organization_id   uuid REFERENCES organizations (id) ON DELETE CASCADE,
    job_posting_id    uuid REFERENCES job_postings (id) ON DELETE SET NULL,
    user_id           uuid REFERENCES users (id) ON DELETE SET NULL, -- the candidate
    resume_id         uuid REFERENCES resumes (id) ON DELETE SET NULL,
    -- What the interviewer was given, as it was when the interview was created.
    role              text NOT NULL CHECK (length(role) BETWEEN 1 AND 200),
    job_description   text,
    resume            text,
    status            text NOT NULL DEFAULT 'scheduled'
                      CHECK (status IN ('scheduled', 'in_progress', 'completed', 'abandoned')),
    stt_provider      text,
    llm_provider      text,
    tts_provider      text,
    llm_model         text,
    prompt_version    text,
    prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    stt_seconds       double precision NOT NULL DEFAULT 0 CHECK (stt_seconds >= 0),
    tts_characters    bigint NOT NULL DEFAULT 0 CHECK (tts_characters >= 0),
    cost_usd          numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    CHECK (started_at IS NULL OR started_at >= created_at),
    CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at)
);
CREATE INDEX interviews_organization_id_created_at_idx ON interviews (organization_id, created_at DESC);
CREATE INDEX interviews_job_posting_id_idx ON interviews (job_posting_id);
CREATE INDEX interviews_user_id_idx ON interviews (user_id);
-- Live and upcoming interviews (the monitor list); finished ones are the large majority.
CREATE INDEX interviews_open_idx ON interviews (status, created_at)
    WHERE status IN ('scheduled', 'in_progress');

CREATE TABLE turns (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    interview_id        uuid NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    seq                 integer NOT NULL CHECK (seq >= 0),
    speaker             text NOT NULL CHECK (speaker IN ('interviewer', 'candidate')),
    kind                text NOT NULL CHECK (kind IN ('question', 'prompt', 'notice', 'answer')),
    text                text NOT NULL,
    transcribed         boolean NOT NULL,
    interrupted         boolean NOT NULL,
    audio_ms            integer NOT NULL CHECK (audio_ms >= 0),
    started_at          timestamptz NOT NULL,
    ended_at            timestamptz NOT NULL CHECK (ended_at >= started_at),
    -- End of the candidate's speech to the interviewer's first audio (interviewer turns).
    response_latency_ms integer CHECK (response_latency_ms >= 0),
    -- Per-stage latencies (protocol::TurnTimings).
    timings             jsonb,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Idempotent inserts: ON CONFLICT (interview_id, seq) DO NOTHING.
    CONSTRAINT turns_interview_id_seq_key UNIQUE (interview_id, seq)
);

-- The seq-numbered event log used for replay (the Redis stream is a capped copy of its tail).
CREATE TABLE events (
    interview_id uuid NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    seq          bigint NOT NULL CHECK (seq > 0),
    -- json, not jsonb: replay sends the event byte for byte as it was first sent.
    body         json NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (interview_id, seq)
);

CREATE TABLE assessments (
    id           uuid PRIMARY KEY,
    interview_id uuid NOT NULL UNIQUE REFERENCES interviews (id) ON DELETE CASCADE,
    body         jsonb NOT NULL,
    llm_model    text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Provider keys an organization brings, encrypted by the server (never stored in clear).
CREATE TABLE api_keys (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    provider        text NOT NULL CHECK (provider IN ('openai', 'gemini', 'deepgram', 'other')),
    name            text NOT NULL,
    ciphertext      bytea NOT NULL,
    nonce           bytea NOT NULL CHECK (length(nonce) = 12),
    last4           text NOT NULL CHECK (length(last4) <= 4),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX api_keys_organization_id_idx ON api_keys (organization_id) WHERE revoked_at IS NULL;
