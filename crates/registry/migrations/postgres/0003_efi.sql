-- Published Secure Boot files: the same tables as the SQLite migration 0006.
CREATE TABLE efi_images (
    digest        TEXT PRIMARY KEY NOT NULL,
    size          BIGINT NOT NULL,
    authenticode  TEXT NOT NULL,
    signers       TEXT NOT NULL,
    created_ns    BIGINT NOT NULL,
    log_index     BIGINT
);
CREATE INDEX efi_images_by_authenticode ON efi_images (authenticode);
CREATE INDEX efi_images_by_log_index ON efi_images (log_index);

CREATE TABLE efi_vars (
    digest        TEXT PRIMARY KEY NOT NULL,
    size          BIGINT NOT NULL,
    variable      TEXT NOT NULL,
    append_write  BOOLEAN NOT NULL,
    efi_time      TEXT NOT NULL,
    list_digest   TEXT NOT NULL,
    signer        TEXT NOT NULL,
    created_ns    BIGINT NOT NULL,
    log_index     BIGINT
);
CREATE INDEX efi_vars_by_log_index ON efi_vars (log_index);
