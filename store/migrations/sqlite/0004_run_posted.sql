-- A run keeps where its summary was posted as one value, "posted", that the
-- notifier (the bot) writes and reads; runs saved before kept Slack's channel
-- and thread_ts, which become the bot's "CHANNEL/THREAD_TS".
UPDATE runs SET run = CASE
	WHEN coalesce(json_extract(run, '$.thread_ts'), '') <> '' THEN json_remove(
		json_set(run, '$.posted', coalesce(json_extract(run, '$.channel'), '') || '/' || json_extract(run, '$.thread_ts')),
		'$.channel', '$.thread_ts')
	ELSE json_remove(run, '$.channel', '$.thread_ts')
END
WHERE json_type(run, '$.channel') IS NOT NULL OR json_type(run, '$.thread_ts') IS NOT NULL;
