-- Single-use links to set a password (a new user's invitation, or an admin's reset).
CREATE TABLE invites (
    -- SHA-256 of the token (hex): the token itself is never stored.
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX invites_user_id_idx ON invites (user_id);
