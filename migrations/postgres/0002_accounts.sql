-- Recruiters: staff accounts and their sign-in sessions. Every interview belongs to an
-- organization; those made before (and by `viva interview create`) belong to the built-in
-- `default` one.
INSERT INTO organizations (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'default');
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

UPDATE interviews SET organization_id = '00000000-0000-0000-0000-000000000001'
WHERE organization_id IS NULL;
ALTER TABLE interviews
    ALTER COLUMN organization_id SET DEFAULT '00000000-0000-0000-0000-000000000001',
    ALTER COLUMN organization_id SET NOT NULL;

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users
    ADD CONSTRAINT users_role_check CHECK (role IN ('candidate', 'admin', 'recruiter', 'viewer')),
    -- argon2id PHC string; NULL until the user has set a password.
    ADD COLUMN password_hash text,
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN locked_until  timestamptz,
    ADD COLUMN disabled_at   timestamptz;

-- One per sign-in; its refresh tokens are one family (rotated on every use).
CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    ip         text
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token (hex): the token itself is never stored.
    token_hash text PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
