-- Assessments (issue #16): a durable job per interview, claimed by a worker with a lease and
-- retried with backoff, and the one result per interview (a rerun replaces it; the table from
-- 0001 gains the method and the generation).
CREATE TABLE assessment_jobs (
    interview_id    uuid PRIMARY KEY REFERENCES interviews (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    generation      integer NOT NULL DEFAULT 1 CHECK (generation >= 1),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessment_jobs_due_idx ON assessment_jobs (next_attempt_at) WHERE status = 'pending';

ALTER TABLE assessments ADD COLUMN method text NOT NULL DEFAULT 'heuristic';
ALTER TABLE assessments ADD COLUMN generation integer NOT NULL DEFAULT 1;
