-- The hiring team's private notes on an interview, and its steering actions (suggested
-- questions, ends from the monitor): never shown to the candidate; deleted with the interview
-- and with its transcript when retention purges it.
CREATE TABLE interview_notes (
    id           TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('note', 'suggested_question', 'end')),
    text         TEXT NOT NULL CHECK (length(text) <= 2000),
    author_id    TEXT,
    author       TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX interview_notes_interview_id_idx ON interview_notes (interview_id, created_at);
