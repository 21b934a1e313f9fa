-- One row per uploaded file (content-addressed).
CREATE TABLE artifacts (
    digest      TEXT PRIMARY KEY NOT NULL,  -- 64 lowercase hex, SHA-256 of the bytes
    size        INTEGER NOT NULL,
    signature   TEXT NOT NULL,              -- lowercase hex DER, low-S normalised
    key_id      TEXT,                       -- hex SHA-256 of the verifying key's SPKI DER
    verified    INTEGER NOT NULL,           -- 0 when no key was configured
    created_ns  INTEGER NOT NULL            -- upload time, ns since the Unix epoch (UTC)
) WITHOUT ROWID;

-- One row per descriptor of a file: what the listing routes return.
CREATE TABLE variants (
    id              INTEGER PRIMARY KEY,
    digest          TEXT NOT NULL REFERENCES artifacts(digest) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    plugin_kind     TEXT NOT NULL,
    export_name     TEXT NOT NULL,
    file_type       TEXT NOT NULL,
    architecture    TEXT NOT NULL,
    plugin_version  INTEGER NOT NULL,
    name            TEXT NOT NULL,
    version         TEXT NOT NULL,
    description     TEXT NOT NULL,
    created_ns      INTEGER NOT NULL,
    UNIQUE (digest, position)
);
-- The listing order (ABI desc, newest first) within a name, and each filter beside it.
CREATE INDEX variants_by_name ON variants (name, plugin_version DESC, created_ns DESC, id DESC);
CREATE INDEX variants_by_file_type ON variants (name, file_type, plugin_version DESC, created_ns DESC, id DESC);
CREATE INDEX variants_by_architecture ON variants (name, architecture, plugin_version DESC, created_ns DESC, id DESC);
CREATE INDEX variants_by_version ON variants (name, version);
CREATE INDEX variants_by_digest ON variants (digest);

-- One row per plugin name with the description `GET /plugins` shows (from the variant that
-- sorts first: highest ABI, then newest), kept current on every write so listing is a scan
-- of this small table only.
CREATE TABLE plugins (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL
) WITHOUT ROWID;
