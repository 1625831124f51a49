"""Read model tables. Every value is derived from events (times from envelopes),
so replaying the log into an empty database reproduces the tables exactly."""

#: Bump when tables or their meaning change: a node then replays the log into fresh tables.
SCHEMA_VERSION = 5

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    project_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_project ON api_keys(project_id);
CREATE TABLE IF NOT EXISTS pipes (
    pipe_id             TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL,
    name                TEXT NOT NULL,
    voice_profile_id    TEXT,
    agent_id            TEXT,
    agent_endpoint      TEXT,
    recording           INTEGER NOT NULL,
    max_call_duration_s INTEGER NOT NULL,
    first_speaker       TEXT NOT NULL,
    barge_in_min_speech_s REAL NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pipes_project ON pipes(project_id, created_at);
CREATE TABLE IF NOT EXISTS numbers (
    number_id    TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    number       TEXT NOT NULL,
    source       TEXT NOT NULL,
    trunk_id     TEXT,
    country      TEXT,
    capabilities TEXT NOT NULL,
    pipe_id      TEXT,
    active_calls INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS numbers_project ON numbers(project_id, number);
CREATE INDEX IF NOT EXISTS numbers_pipe ON numbers(pipe_id);
CREATE TABLE IF NOT EXISTS trunks (
    trunk_id   TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    config     TEXT NOT NULL,
    numbers    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trunks_project ON trunks(project_id, created_at);
CREATE TABLE IF NOT EXISTS calls (
    call_id      TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    pipe_id      TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    direction    TEXT NOT NULL,
    agent_id     TEXT,
    agent_endpoint TEXT,
    user_number  TEXT,
    status       TEXT NOT NULL,
    worker_id    TEXT,
    turns        INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    connected_at TEXT,
    ended_at     TEXT,
    end_reason   TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_project ON calls(project_id, created_at);
CREATE TABLE IF NOT EXISTS call_lines (
    call_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL,
    turn        INTEGER NOT NULL,
    text        TEXT NOT NULL,
    interrupted INTEGER NOT NULL DEFAULT 0,
    at          TEXT NOT NULL,
    timings     TEXT,  -- JSON TurnTimings of an agent reply
    PRIMARY KEY (call_id, seq)
);
CREATE TABLE IF NOT EXISTS recordings (
    recording_id TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    pipe_id      TEXT NOT NULL,
    duration_s   REAL NOT NULL,
    size_bytes   INTEGER NOT NULL,
    sample_rate  INTEGER NOT NULL,
    channels     INTEGER NOT NULL,
    paused_s     REAL NOT NULL,
    paused_spans TEXT NOT NULL,  -- JSON [[start_s, end_s], ...]
    created_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_project ON recordings(project_id, created_at);
CREATE INDEX IF NOT EXISTS recordings_call ON recordings(call_id);
CREATE TABLE IF NOT EXISTS runners (
    runner_id      TEXT PRIMARY KEY,
    worker_id      TEXT NOT NULL,
    project_id     TEXT NOT NULL,
    agent_id       TEXT NOT NULL,
    pool           TEXT NOT NULL,
    max_concurrent INTEGER NOT NULL,
    node_id        TEXT NOT NULL,
    hostname       TEXT,
    status         TEXT NOT NULL,
    lost_reason    TEXT,
    registered_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runners_project ON runners(project_id, agent_id);
"""

#: Tables a rebuild compares; the checkpoint is bookkeeping.
TABLES = ("projects", "api_keys", "pipes", "numbers", "trunks", "calls", "call_lines", "recordings", "runners")
