-- What candidates' pages reported (issue #16: integrity signals, for human review): tab hidden,
-- focus lost, a paste into the typed-answer box; ms from the interview's start on the server
-- clock. Only for interviews made with their organization's integrity_signals on.
CREATE TABLE client_signals (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The node's count of the interview's events: writes run concurrently, reads order by
    -- (at_ms, n).
    n            INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    chars        INTEGER
);
CREATE INDEX client_signals_by_interview ON client_signals (interview_id, seq);
