-- Published Secure Boot files (cairn efi sign|auth --registry), content-addressed like
-- artifacts. Signed EFI images: who signed each, by the SHA-256 of the signer's certificate.
CREATE TABLE efi_images (
    digest        TEXT PRIMARY KEY NOT NULL,  -- SHA-256 of the file
    size          INTEGER NOT NULL,
    authenticode  TEXT NOT NULL,              -- the Authenticode digest, hex
    signers       TEXT NOT NULL,              -- JSON array of signer certificate SHA-256s
    created_ns    INTEGER NOT NULL,
    log_index     INTEGER
) WITHOUT ROWID;
-- What a fleet asks: was an image with this Authenticode digest published?
CREATE INDEX efi_images_by_authenticode ON efi_images (authenticode);
CREATE INDEX efi_images_by_log_index ON efi_images (log_index);

-- Signed variable updates (.auth).
CREATE TABLE efi_vars (
    digest        TEXT PRIMARY KEY NOT NULL,
    size          INTEGER NOT NULL,
    variable      TEXT NOT NULL,              -- PK, KEK, db, dbx
    append_write  INTEGER NOT NULL,           -- 1: EFI_VARIABLE_APPEND_WRITE
    efi_time      TEXT NOT NULL,              -- YYYY-MM-DD HH:MM:SS
    list_digest   TEXT NOT NULL,              -- SHA-256 of the signature list
    signer        TEXT NOT NULL,              -- SHA-256 of the signer's certificate
    created_ns    INTEGER NOT NULL,
    log_index     INTEGER
) WITHOUT ROWID;
CREATE INDEX efi_vars_by_log_index ON efi_vars (log_index);
