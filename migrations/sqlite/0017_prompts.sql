-- Organizations' own prompt versions (issue #16): per name (`interviewer`, `analyst`, `assessor`), numbered
-- from 1, at most one active (none active: the server's default from prompts/). Versions are
-- never changed or deleted: interviews record the ones they used.
CREATE TABLE prompts (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (name IN ('interviewer', 'analyst', 'assessor')),
    version         INTEGER NOT NULL CHECK (version >= 1),
    body            TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, name, version)
);
CREATE UNIQUE INDEX prompts_one_active ON prompts (organization_id, name) WHERE active = 1;

-- The prompts an interview uses, fixed when it is made (JSON: {name: {version, text?}}; NULL for
-- interviews made before: the server's defaults).
ALTER TABLE interviews ADD COLUMN prompts TEXT;
