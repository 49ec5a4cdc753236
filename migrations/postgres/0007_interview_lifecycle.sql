-- Interviews a recruiter cancelled; per-interview settings; the candidate link that works now
-- (re-issuing a link replaces it); the candidate's consent to the organization's notice; the
-- notices themselves, versioned; and the audit log.
ALTER TABLE interviews DROP CONSTRAINT interviews_status_check;
ALTER TABLE interviews ADD CONSTRAINT interviews_status_check
    CHECK (status IN ('scheduled', 'in_progress', 'completed', 'abandoned', 'cancelled'));

ALTER TABLE interviews
    ADD COLUMN settings               jsonb NOT NULL DEFAULT '{}',
    -- The id (`jti`) of the candidate token that opens the interview now; NULL: any valid one.
    ADD COLUMN link_id                text,
    ADD COLUMN consent_required       boolean NOT NULL DEFAULT false,
    ADD COLUMN consented_at           timestamptz,
    ADD COLUMN consent_notice_version integer,
    ADD COLUMN consent_ip             text,
    ADD COLUMN cancel_reason          text;

CREATE TABLE notices (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version         integer NOT NULL CHECK (version >= 1),
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 20000),
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, version)
);

CREATE TABLE audit_log (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Who: a user, or NULL for the server itself (retention) or an unknown email (failed login).
    actor_id        uuid,
    action          text NOT NULL,
    target_kind     text,
    target_id       text,
    ip              text,
    details         jsonb NOT NULL DEFAULT '{}',
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_organization_id_at_idx ON audit_log (organization_id, at DESC);
