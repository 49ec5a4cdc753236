-- Recruiters: organizations, staff accounts and their sign-in sessions (as in the Postgres
-- schema). Every interview belongs to an organization; those made before (and by
-- `viva interview create`) belong to the built-in `default` one.
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));
INSERT INTO organizations (id, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

ALTER TABLE interviews ADD COLUMN organization_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000001';
CREATE INDEX interviews_organization_id_created_at_idx ON interviews (organization_id, created_at);

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL CHECK (instr(email, '@') > 1),
    name            TEXT,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'recruiter', 'viewer')),
    -- argon2id PHC string; NULL until the user has set a password.
    password_hash   TEXT,
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    TEXT,
    disabled_at     TEXT,
    created_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_id_idx ON users (organization_id);

-- One per sign-in; its refresh tokens are one family (rotated on every use).
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    ip         TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token (hex): the token itself is never stored.
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
