-- Organizations' own vendor keys (bring your own key), sealed with the server's encryption key
-- (`api_keys` from the first schema, never used, is left as it is).
CREATE TABLE provider_keys (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    vendor          text NOT NULL CHECK (vendor IN ('openai', 'gemini', 'deepgram')),
    sealed          text NOT NULL,
    last4           text NOT NULL CHECK (length(last4) <= 4),
    updated_by      uuid,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, vendor)
);
