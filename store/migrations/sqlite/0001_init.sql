-- Times are microseconds since the Unix epoch, UTC (see store.DB).

-- One row per report; report holds the full triage.Report as JSON, the other
-- columns copy what lookups need.
CREATE TABLE reports (
	id           TEXT    NOT NULL PRIMARY KEY,
	host         TEXT    NOT NULL,
	host_key     TEXT    NOT NULL, -- host in lower case: hosts compare case-insensitively
	status       TEXT    NOT NULL,
	started_at   INTEGER NOT NULL,
	causes       TEXT    NOT NULL, -- JSON array of cause IDs, worst first
	channel      TEXT    NOT NULL,
	thread_ts    TEXT    NOT NULL,
	requested_by TEXT    NOT NULL,
	report       TEXT    NOT NULL,
	saved_at     INTEGER NOT NULL
);
CREATE INDEX reports_by_host ON reports (host_key, started_at DESC, id DESC);
CREATE INDEX reports_by_start ON reports (started_at);

CREATE TABLE audit (
	id      INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	at      INTEGER NOT NULL,
	user_id TEXT    NOT NULL,
	channel TEXT    NOT NULL,
	origin  TEXT    NOT NULL,
	command TEXT    NOT NULL,
	result  TEXT    NOT NULL,
	detail  TEXT    NOT NULL
);
CREATE INDEX audit_by_time ON audit (at DESC, id DESC);

-- De-duplication keys (Claim).
CREATE TABLE claims (
	key        TEXT    NOT NULL PRIMARY KEY,
	claimed_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX claims_by_expiry ON claims (expires_at);

-- Leases (Lease, Finish); done_at is NULL until the holder finished.
CREATE TABLE leases (
	key        TEXT    NOT NULL PRIMARY KEY,
	holder     TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	done_at    INTEGER
);
CREATE INDEX leases_by_expiry ON leases (expires_at);

-- Schedules' runs; run holds the triage.FleetRun as JSON.
CREATE TABLE runs (
	schedule TEXT    NOT NULL,
	tick     INTEGER NOT NULL,
	run      TEXT    NOT NULL,
	PRIMARY KEY (schedule, tick)
);
CREATE INDEX runs_by_tick ON runs (tick);
