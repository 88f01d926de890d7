-- A run keeps where its summary was posted as one value, "posted", that the
-- notifier (the bot) writes and reads; runs saved before kept Slack's channel
-- and thread_ts, which become the bot's "CHANNEL/THREAD_TS".
--
-- PostgreSQL's json functions refuse documents with the \u0000 escape that a
-- host's error text may carry, so the text is rewritten instead. It is
-- encoding/json's writing of a triage.FleetRun: channel and thread_ts, when
-- set, are its last members, after hosts (always written, so a run without
-- them ends in "]}" or "null}"), and neither holds a quote or a backslash.
UPDATE runs SET run = regexp_replace(run,
		'(,"channel":"([^"\\]*)")?,"thread_ts":"([^"\\]+)"}$', ',"posted":"\2/\3"}')
	WHERE run ~ ',"thread_ts":"[^"\\]+"}$';
UPDATE runs SET run = regexp_replace(run, ',"channel":"[^"\\]*"}$', '}')
	WHERE run ~ ',"channel":"[^"\\]*"}$';
