-- Read-only inspection for the test suite and benchmarks (sql/dev: not shipped).

-- name: state_fingerprint
-- One md5 per table over its whole content: equal fingerprints, equal data.
SELECT (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM campaigns t)
           AS campaigns,
       (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM status_changes t)
           AS status_changes,
       (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.key), '')) FROM idempotency_keys t)
           AS idempotency_keys,
       (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM webhook_events t)
           AS webhook_events,
       (SELECT md5(coalesce(string_agg(t::text, '|'
                   ORDER BY t.campaign_external_id, t.event_type), ''))
          FROM campaign_event_counts t) AS campaign_event_counts,
       (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM drift_findings t)
           AS drift_findings;

-- name: status_changes_for
SELECT * FROM status_changes WHERE campaign_id = $1 ORDER BY id;

-- name: webhook_events_count
SELECT count(*) FROM webhook_events;

-- name: webhook_event_get
SELECT * FROM webhook_events WHERE id = $1;

-- name: event_counts_for
SELECT event_type, count, last_at FROM campaign_event_counts
 WHERE campaign_external_id = $1 ORDER BY event_type;

-- name: remote_as_local_of
-- What the SQL function remote_as_local says for each code (pinned to Python by a test).
SELECT code, remote_as_local(code) AS local FROM unnest($1::int[]) AS code;

-- name: audit_sources_allowed
-- The values the CHECK on status_changes.source allows (pinned to the API's list by a test).
SELECT m[1] AS source
  FROM pg_constraint c,
       regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
 WHERE c.conrelid = 'status_changes'::regclass AND c.conname = 'status_changes_source_check';

-- name: webhook_events_of
SELECT id, event_type, outcome, payload FROM webhook_events
 WHERE campaign_external_id = $1 ORDER BY id;

-- name: findings_count
SELECT count(*) FROM drift_findings;

-- name: webhook_events_all
SELECT id, event_type, outcome, payload, workspace_id, campaign_id FROM webhook_events ORDER BY id;

-- name: webhook_rejects_count
SELECT count(*) FROM webhook_rejects;

-- name: campaign_statuses_allowed
-- The values the CHECK on campaigns.status allows (pinned to LocalStatus by a test).
SELECT m[1] AS status
  FROM pg_constraint c,
       regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
 WHERE c.conrelid = 'campaigns'::regclass AND c.conname = 'campaigns_status_check';

-- name: workspace_key_raw
-- A workspace's stored key, as stored (encrypted).
SELECT api_key FROM workspaces WHERE name = $1;

-- name: notify_pending_sent
-- Whether every notification was delivered to every target.
SELECT bool_and(sent_at IS NOT NULL) FROM notifications;
