-- Single-use links to set a password (a new user's invitation, or an admin's reset).
CREATE TABLE invites (
    -- SHA-256 of the token (hex): the token itself is never stored.
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX invites_user_id_idx ON invites (user_id);
