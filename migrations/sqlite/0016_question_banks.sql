-- Organizations' own question banks (issue #16), versioned: an import of an existing name is its
-- next version; interviews use the newest. The body is the whole bank (JSON), checked on import.
CREATE TABLE question_banks (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    title           TEXT NOT NULL,
    questions       INTEGER NOT NULL CHECK (questions >= 1),
    body            TEXT NOT NULL,
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, name, version)
);
