-- The interview's plan (issue #16): the bank, the questions that fit the job and the résumé,
-- and why; and, on each interviewer turn, the decision it carried out (which question, which
-- difficulty, why). NULL for interviews and turns from before plans.
ALTER TABLE interviews ADD COLUMN plan jsonb;
ALTER TABLE turns ADD COLUMN decision jsonb;
