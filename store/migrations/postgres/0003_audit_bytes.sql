-- The audit log keeps at most store.MaxAuditText (512) bytes of a command and
-- of its detail; command_bytes and detail_bytes are their lengths in bytes as
-- given, larger than what is kept when they were cut.
ALTER TABLE audit
	ADD COLUMN command_bytes BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN detail_bytes  BIGINT NOT NULL DEFAULT 0;

-- Entries written before the limit keep their lengths, and are cut to 512
-- characters (not bytes: left counts characters, so no character is split),
-- which frees what oversized requests took for the rest of their retention.
UPDATE audit SET
	command_bytes = octet_length(command),
	detail_bytes  = octet_length(detail),
	command       = left(command, 512),
	detail        = left(detail, 512);
