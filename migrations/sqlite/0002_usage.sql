-- Per-interview accounting (as in the Postgres schema).
ALTER TABLE interviews ADD COLUMN llm_model TEXT;
ALTER TABLE interviews ADD COLUMN prompt_version TEXT;
ALTER TABLE interviews ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0);
ALTER TABLE interviews ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0);
ALTER TABLE interviews ADD COLUMN stt_seconds REAL NOT NULL DEFAULT 0 CHECK (stt_seconds >= 0);
ALTER TABLE interviews ADD COLUMN tts_characters INTEGER NOT NULL DEFAULT 0 CHECK (tts_characters >= 0);
ALTER TABLE interviews ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0);
