-- Assessments (issue #16): a durable job per interview, claimed by a worker with a lease and
-- retried with backoff, and the one result per interview (a rerun replaces it).
CREATE TABLE assessment_jobs (
    interview_id    TEXT PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    -- Attempts started (a claim is an attempt, so a crash mid-attempt counts).
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- 1, then +1 per regeneration.
    generation      INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1),
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX assessment_jobs_due_idx ON assessment_jobs (next_attempt_at) WHERE status = 'pending';

CREATE TABLE assessments (
    interview_id TEXT PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    body         TEXT NOT NULL,
    method       TEXT NOT NULL,
    generation   INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
