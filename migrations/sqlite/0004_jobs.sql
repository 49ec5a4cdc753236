-- Job postings (as in the Postgres schema's job_postings).
CREATE TABLE job_postings (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL, -- who wrote it
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description     TEXT NOT NULL DEFAULT '',
    skills          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(skills)),
    seniority       TEXT CHECK (seniority IN ('intern', 'junior', 'mid', 'senior', 'lead', 'principal')),
    language        TEXT NOT NULL DEFAULT 'en',
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX job_postings_organization_id_created_at_idx
    ON job_postings (organization_id, created_at);
