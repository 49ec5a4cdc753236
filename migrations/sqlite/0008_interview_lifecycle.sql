-- Interviews a recruiter cancelled; per-interview settings; the candidate link that works now
-- (re-issuing a link replaces it); the candidate's consent to the organization's notice; the
-- notices themselves, versioned; and the audit log (as in the Postgres schema).

ALTER TABLE interviews ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
-- The id (`jti`) of the candidate token that opens the interview now; NULL: any valid one
-- (interviews made before links could be re-issued).
ALTER TABLE interviews ADD COLUMN link_id TEXT;
ALTER TABLE interviews ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 0
    CHECK (consent_required IN (0, 1));
ALTER TABLE interviews ADD COLUMN consented_at TEXT;
ALTER TABLE interviews ADD COLUMN consent_notice_version INTEGER;
ALTER TABLE interviews ADD COLUMN consent_ip TEXT;
-- Why a cancelled interview was cancelled (as the recruiter said it).
ALTER TABLE interviews ADD COLUMN cancel_reason TEXT;

-- SQLite cannot alter a CHECK constraint. Widening one in place is the documented procedure for
-- such a change (https://sqlite.org/lang_altertable.html, "otheralter"): every stored row still
-- satisfies the wider rule. It comes after the ADD COLUMNs (which rewrite the table's SQL from
-- the schema as loaded), and the CREATE TABLEs after it change the schema cookie, so other
-- connections reload the schema; the store migrates on a connection of its own, closed after.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''abandoned'')', '''abandoned'', ''cancelled'')')
 WHERE type = 'table' AND name = 'interviews';
PRAGMA writable_schema = OFF;

CREATE TABLE notices (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version         INTEGER NOT NULL CHECK (version >= 1),
    text            TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 20000),
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, version)
);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Who: a user, or NULL for the server itself (retention) or an unknown email (failed login).
    actor_id        TEXT,
    action          TEXT NOT NULL,
    target_kind     TEXT,
    target_id       TEXT,
    ip              TEXT,
    details         TEXT NOT NULL DEFAULT '{}',
    at              TEXT NOT NULL
);
CREATE INDEX audit_log_organization_id_at_idx ON audit_log (organization_id, at);
