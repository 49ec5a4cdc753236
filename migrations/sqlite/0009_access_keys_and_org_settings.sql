-- API keys: service accounts with a role, each kept only as its SHA-256 (in the table
-- `access_keys`: `api_keys` is the provider keys organizations bring), and organization
-- settings.
CREATE TABLE access_keys (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            TEXT NOT NULL CHECK (role IN ('admin', 'recruiter', 'viewer')),
    prefix          TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX access_keys_organization_id_idx ON access_keys (organization_id);

ALTER TABLE organizations ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 365
    CHECK (retention_days BETWEEN 1 AND 3650);
ALTER TABLE organizations ADD COLUMN integrity_signals INTEGER NOT NULL DEFAULT 0
    CHECK (integrity_signals IN (0, 1));
ALTER TABLE organizations ADD COLUMN interview_defaults TEXT NOT NULL DEFAULT '{}';

-- When the retention task deleted an interview's transcript, events and the copies of the
-- résumé and job description it was given (the row stays, for counts and the audit trail).
ALTER TABLE interviews ADD COLUMN purged_at TEXT;
