-- Each host's newest report (by started_at, then id, as History orders them),
-- kept by SaveReport so that Latest reads one row per host instead of ranking
-- every report. Prune deletes a host's row with its last report.
CREATE TABLE latest (
	host_key   TEXT    NOT NULL PRIMARY KEY,
	report_id  TEXT    NOT NULL,
	started_at INTEGER NOT NULL
);

INSERT INTO latest (host_key, report_id, started_at)
SELECT host_key, id, started_at FROM (
	SELECT host_key, id, started_at,
		row_number() OVER (PARTITION BY host_key ORDER BY started_at DESC, id DESC) AS n
	FROM reports
) AS ranked
WHERE n = 1;
