-- Organizations' own vendor keys (bring your own key), sealed with the server's encryption key
-- (as in the Postgres schema).
CREATE TABLE provider_keys (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    vendor          TEXT NOT NULL CHECK (vendor IN ('openai', 'gemini', 'deepgram')),
    sealed          TEXT NOT NULL,
    last4           TEXT NOT NULL CHECK (length(last4) <= 4),
    updated_by      TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, vendor)
);
