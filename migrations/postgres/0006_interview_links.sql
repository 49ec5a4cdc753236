-- What an interview was made for (a candidate; the job is job_posting_id) and by whom.
ALTER TABLE interviews
    ADD COLUMN candidate_id uuid REFERENCES candidates (id) ON DELETE SET NULL,
    ADD COLUMN created_by   uuid REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX interviews_candidate_id_idx ON interviews (candidate_id);
