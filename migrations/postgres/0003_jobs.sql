-- Job postings as recruiters describe them to the interviewer.
ALTER TABLE job_postings
    ADD COLUMN skills    jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(skills) = 'array'),
    ADD COLUMN seniority text CHECK (seniority IN ('intern', 'junior', 'mid', 'senior', 'lead', 'principal')),
    ADD COLUMN language  text NOT NULL DEFAULT 'en';
