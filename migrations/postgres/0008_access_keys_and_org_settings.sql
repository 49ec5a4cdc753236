-- API keys: service accounts with a role, each kept only as its SHA-256 (in the table
-- `access_keys`: `api_keys` is the provider keys organizations bring), and organization
-- settings.
CREATE TABLE access_keys (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text NOT NULL CHECK (role IN ('admin', 'recruiter', 'viewer')),
    prefix          text NOT NULL,
    key_hash        text NOT NULL UNIQUE,
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX access_keys_organization_id_idx ON access_keys (organization_id);

ALTER TABLE organizations
    ADD COLUMN retention_days     integer NOT NULL DEFAULT 365
        CHECK (retention_days BETWEEN 1 AND 3650),
    ADD COLUMN integrity_signals  boolean NOT NULL DEFAULT false,
    ADD COLUMN interview_defaults jsonb NOT NULL DEFAULT '{}';

-- When the retention task deleted an interview's transcript, events, analyses and the copies of
-- the résumé and job description it was given (the row stays, for counts and the audit trail).
ALTER TABLE interviews ADD COLUMN purged_at timestamptz;
