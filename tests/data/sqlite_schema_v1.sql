-- The embedded store: the two tables the worker writes, in SQLite types.
-- JSON columns hold JSON text; timestamps are ISO-8601 UTC text.
CREATE TABLE IF NOT EXISTS interviews (
    id               TEXT PRIMARY KEY,
    user_id          TEXT,
    candidate_name   TEXT,
    interview_date   TEXT NOT NULL,
    room_name        TEXT NOT NULL UNIQUE,
    job_role         TEXT,
    experience_level TEXT,
    final_stage      TEXT,
    ended_by         TEXT NOT NULL,
    skipped_stages   TEXT NOT NULL DEFAULT '[]',
    has_resume       INTEGER NOT NULL DEFAULT 0,
    has_jd           INTEGER NOT NULL DEFAULT 0,
    conversation     TEXT NOT NULL,
    total_messages   TEXT NOT NULL,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_interviews_user_id ON interviews(user_id);
CREATE INDEX IF NOT EXISTS idx_interviews_date ON interviews(interview_date DESC);

CREATE TABLE IF NOT EXISTS feedback (
    id            TEXT PRIMARY KEY,
    user_id       TEXT,
    interview_id  TEXT NOT NULL UNIQUE REFERENCES interviews(id) ON DELETE CASCADE,
    feedback_data TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_feedback_user_id ON feedback(user_id);
