-- The audit log keeps at most store.MaxAuditText (512) bytes of a command and
-- of its detail; command_bytes and detail_bytes are their lengths in bytes as
-- given, larger than what is kept when they were cut.
ALTER TABLE audit ADD COLUMN command_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN detail_bytes INTEGER NOT NULL DEFAULT 0;

-- Entries written before the limit keep their lengths, and are cut to 512
-- characters (not bytes: SQLite's substr counts characters in text, so no
-- character is split), which frees what oversized requests took for the rest
-- of their retention.
UPDATE audit SET
	command_bytes = length(CAST(command AS BLOB)),
	detail_bytes  = length(CAST(detail AS BLOB)),
	command       = substr(command, 1, 512),
	detail        = substr(detail, 1, 512);
