-- The PostgreSQL index: the same tables as the SQLite migrations 0001-0004, in one step.
-- Integer widths match what the code decodes: BIGINT for counts, sizes, times and indexes,
-- INTEGER for the plugin ABI version.
CREATE TABLE artifacts (
    digest      TEXT PRIMARY KEY NOT NULL,
    size        BIGINT NOT NULL,
    signature   TEXT NOT NULL,
    key_id      TEXT,
    verified    BOOLEAN NOT NULL,
    created_ns  BIGINT NOT NULL,
    log_index   BIGINT
);

CREATE TABLE variants (
    id              BIGSERIAL PRIMARY KEY,
    digest          TEXT NOT NULL REFERENCES artifacts(digest) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    plugin_kind     TEXT NOT NULL,
    export_name     TEXT NOT NULL,
    file_type       TEXT NOT NULL,
    architecture    TEXT NOT NULL,
    plugin_version  INTEGER NOT NULL,
    name            TEXT NOT NULL,
    version         TEXT NOT NULL,
    description     TEXT NOT NULL,
    created_ns      BIGINT NOT NULL,
    UNIQUE (digest, position)
);
CREATE INDEX variants_by_name ON variants (name, plugin_version DESC, created_ns DESC, id DESC);
CREATE INDEX variants_by_file_type ON variants (name, file_type, plugin_version DESC, created_ns DESC, id DESC);
CREATE INDEX variants_by_architecture ON variants (name, architecture, plugin_version DESC, created_ns DESC, id DESC);
CREATE INDEX variants_by_version ON variants (name, version);
CREATE INDEX variants_by_digest ON variants (digest);

CREATE TABLE plugins (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL
);

CREATE TABLE scans (
    digest      TEXT PRIMARY KEY NOT NULL,
    host        TEXT NOT NULL,
    roots       TEXT NOT NULL,
    entries     BIGINT NOT NULL,
    errors      BIGINT NOT NULL,
    started     TEXT NOT NULL,
    finished    TEXT NOT NULL,
    size        BIGINT NOT NULL,
    signature   TEXT NOT NULL,
    key_id      TEXT,
    created_ns  BIGINT NOT NULL,
    log_index   BIGINT
);
CREATE INDEX scans_by_host ON scans (host, created_ns DESC);

CREATE TABLE log_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    applied BIGINT NOT NULL
);
INSERT INTO log_state (id, applied) VALUES (1, 0);
