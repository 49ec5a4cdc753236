-- Webhooks: an organization's endpoints (the signing secret sealed with the server's
-- encryption key) and the durable queue of deliveries to them (as in the Postgres schema).
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url             TEXT NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    -- JSON array of event types.
    events          TEXT NOT NULL,
    secret_sealed   TEXT NOT NULL,
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    disabled_at     TEXT
);
CREATE INDEX webhooks_organization_id_idx ON webhooks (organization_id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    -- Not a foreign key: a delivery outlives a deleted interview (it says only its id).
    interview_id     TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook_id_idx ON webhook_deliveries (webhook_id, created_at);
