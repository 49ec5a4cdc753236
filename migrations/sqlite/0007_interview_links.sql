-- What an interview was made for (a job, a candidate) and by whom (as in the Postgres schema).
ALTER TABLE interviews ADD COLUMN job_posting_id TEXT;
ALTER TABLE interviews ADD COLUMN candidate_id TEXT;
ALTER TABLE interviews ADD COLUMN created_by TEXT;
CREATE INDEX interviews_candidate_id_idx ON interviews (candidate_id);
CREATE INDEX interviews_job_posting_id_idx ON interviews (job_posting_id);
