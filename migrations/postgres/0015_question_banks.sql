-- Organizations' own question banks (issue #16), versioned: an import of an existing name is its
-- next version; interviews use the newest. The body is the whole bank, checked on import.
CREATE TABLE question_banks (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    title           text NOT NULL,
    questions       integer NOT NULL CHECK (questions >= 1),
    body            jsonb NOT NULL,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, name, version)
);
