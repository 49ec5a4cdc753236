-- Candidates of an organization: the people recruiters interview, with their résumé as text.
CREATE TABLE candidates (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL, -- who added them
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text NOT NULL CHECK (position('@' IN email) > 1),
    resume_text     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX candidates_organization_id_email_key ON candidates (organization_id, lower(email));
CREATE INDEX candidates_organization_id_created_at_idx ON candidates (organization_id, created_at DESC);
