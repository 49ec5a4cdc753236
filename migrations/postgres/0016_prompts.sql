-- Organizations' own prompt versions (issue #16): per name (`interviewer`, `analyst`, `assessor`), numbered
-- from 1, at most one active (none active: the server's default from prompts/). Versions are
-- never changed or deleted: interviews record the ones they used.
CREATE TABLE prompts (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (name IN ('interviewer', 'analyst', 'assessor')),
    version         integer NOT NULL CHECK (version >= 1),
    body            text NOT NULL,
    active          boolean NOT NULL DEFAULT false,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, name, version)
);
CREATE UNIQUE INDEX prompts_one_active ON prompts (organization_id, name) WHERE active;

-- The prompts an interview uses, fixed when it is made ({name: {version, text?}}; NULL for
-- interviews made before: the server's defaults).
ALTER TABLE interviews ADD COLUMN prompts jsonb;
