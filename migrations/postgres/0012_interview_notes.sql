-- The hiring team's private notes on an interview, and its steering actions (suggested
-- questions, ends from the monitor): never shown to the candidate; deleted with the interview
-- and with its transcript when retention purges it.
CREATE TABLE interview_notes (
    id           uuid PRIMARY KEY,
    interview_id uuid NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('note', 'suggested_question', 'end')),
    text         text NOT NULL CHECK (char_length(text) <= 2000),
    author_id    uuid,
    author       text,
    created_at   timestamptz NOT NULL
);
CREATE INDEX interview_notes_interview_id_idx ON interview_notes (interview_id, created_at);
