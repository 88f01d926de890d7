-- Each saved report's signatures (triage.Signature: one finding reduced to what
-- correlation compares), one row each, so that RecentSignatures reads the
-- signatures of the last minutes through signatures_by_start without touching
-- the reports' JSON. A report's signatures go with it (Prune).
CREATE TABLE signatures (
	report_id  TEXT    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
	n          INTEGER NOT NULL, -- the signature's place among its report's
	started_at INTEGER NOT NULL, -- the report's
	host       TEXT    NOT NULL,
	cause      TEXT    NOT NULL,
	severity   TEXT    NOT NULL, -- as triage.Severity writes it: info, warning, unknown, critical
	first_at   INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	factors    TEXT    NOT NULL, -- JSON array of triage.Factor
	PRIMARY KEY (report_id, n)
);
CREATE INDEX signatures_by_start ON signatures (started_at);
