-- The embedded store: the two tables the worker writes, in SQLite types.
-- JSON columns hold JSON text; timestamps are ISO-8601 UTC text.
-- An interview is identified by id (created by the worker when the job starts);
-- revision orders the versions of its row; ended_by is NULL while it is live.
CREATE TABLE IF NOT EXISTS interviews (
    id               TEXT PRIMARY KEY,
    revision         INTEGER NOT NULL DEFAULT 0,
    user_id          TEXT,
    candidate_name   TEXT,
    interview_date   TEXT NOT NULL,
    room_name        TEXT NOT NULL UNIQUE,
    job_role         TEXT,
    experience_level TEXT,
    final_stage      TEXT,
    ended_by         TEXT,
    skipped_stages   TEXT NOT NULL DEFAULT '[]',
    has_resume       INTEGER NOT NULL DEFAULT 0,
    has_jd           INTEGER NOT NULL DEFAULT 0,
    conversation     TEXT NOT NULL,
    total_messages   TEXT NOT NULL,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_interviews_user_id ON interviews(user_id);
CREATE INDEX IF NOT EXISTS idx_interviews_date ON interviews(interview_date DESC);
CREATE INDEX IF NOT EXISTS idx_interviews_real_room
    ON interviews(json_extract(metadata, '$.room_name'));

CREATE TABLE IF NOT EXISTS feedback (
    id            TEXT PRIMARY KEY,
    user_id       TEXT,
    interview_id  TEXT NOT NULL UNIQUE REFERENCES interviews(id) ON DELETE CASCADE,
    feedback_data TEXT NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_feedback_user_id ON feedback(user_id);
