-- Candidates of an organization (as in the Postgres schema).
CREATE TABLE candidates (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL, -- who added them
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           TEXT NOT NULL CHECK (instr(email, '@') > 1),
    resume_text     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX candidates_organization_id_email_key ON candidates (organization_id, lower(email));
CREATE INDEX candidates_organization_id_created_at_idx ON candidates (organization_id, created_at);
