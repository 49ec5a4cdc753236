-- A question the hiring team suggested while watching, asked by the interviewer as written.
ALTER TABLE turns ADD COLUMN suggested INTEGER NOT NULL DEFAULT 0;
