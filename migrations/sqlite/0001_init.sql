-- Embedded default schema (SQLite). Timestamps are UTC RFC 3339 text; ids are UUID text.
CREATE TABLE interviews (
    id              TEXT PRIMARY KEY NOT NULL,
    role            TEXT NOT NULL,
    job_description TEXT,
    resume          TEXT,
    status          TEXT NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'in_progress', 'completed', 'abandoned')),
    stt_provider    TEXT,
    llm_provider    TEXT,
    tts_provider    TEXT,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    completed_at    TEXT
);

CREATE TABLE turns (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL CHECK (seq >= 0),
    speaker      TEXT NOT NULL CHECK (speaker IN ('interviewer', 'candidate')),
    kind         TEXT NOT NULL CHECK (kind IN ('question', 'prompt', 'notice', 'answer')),
    text         TEXT NOT NULL,
    transcribed  INTEGER NOT NULL CHECK (transcribed IN (0, 1)),
    interrupted  INTEGER NOT NULL CHECK (interrupted IN (0, 1)),
    audio_ms     INTEGER NOT NULL CHECK (audio_ms >= 0),
    started_at   TEXT NOT NULL,
    ended_at     TEXT NOT NULL,
    timings      TEXT,
    PRIMARY KEY (interview_id, seq)
);

-- The seq-numbered event log used for replay after a restart.
CREATE TABLE events (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    body         TEXT NOT NULL,
    PRIMARY KEY (interview_id, seq)
);
