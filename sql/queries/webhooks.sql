-- Webhook events: batch store with de-duplication, counts, completions, retention.

-- name: webhook_events_insert
-- One batch; rows already stored (same dedupe_key) are skipped and not returned.
WITH input AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
           AS t(dedupe_key, event_type, campaign_external_id, event_at, payload)
)
INSERT INTO webhook_events
       (dedupe_key, event_type, campaign_external_id, campaign_id, event_at, payload, outcome)
SELECT i.dedupe_key, i.event_type, i.campaign_external_id, c.id, i.event_at, i.payload::jsonb,
       CASE WHEN c.id IS NULL THEN 'unknown_campaign' ELSE 'stored' END
  FROM input i
  LEFT JOIN campaigns c ON c.external_id = i.campaign_external_id
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id, dedupe_key, campaign_id;

-- name: webhook_events_ids
SELECT id, dedupe_key FROM webhook_events WHERE dedupe_key = ANY($1::text[]);

-- name: event_counts_bump
-- Sorted input keeps the row-lock order stable across concurrent batches.
INSERT INTO campaign_event_counts AS e (campaign_external_id, event_type, count, last_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
ORDER BY 1, 2
ON CONFLICT (campaign_external_id, event_type) DO UPDATE
   SET count = e.count + EXCLUDED.count,
       last_at = GREATEST(e.last_at, EXCLUDED.last_at);

-- name: webhook_complete_campaigns
-- campaign_completed events: complete each linked campaign unless the event is
-- older than its last status change; audit each change. Returns completed ids.
WITH e AS (
    SELECT DISTINCT ON (campaign_id) campaign_id, event_at
      FROM unnest($1::uuid[], $2::timestamptz[]) AS t(campaign_id, event_at)
     ORDER BY campaign_id, event_at DESC NULLS FIRST
),
old AS (
    SELECT c.id, c.status
      FROM campaigns c
      JOIN e ON e.campaign_id = c.id
     WHERE c.status <> 'completed'
       AND (e.event_at IS NULL OR e.event_at >= c.status_changed_at)
     ORDER BY c.id
       FOR UPDATE OF c
),
upd AS (
    UPDATE campaigns c
       SET status = 'completed', pending_status = NULL, pending_since = NULL,
           pending_token = NULL, version = c.version + 1, updated_at = now(),
           status_changed_at = now()
      FROM old
     WHERE c.id = old.id
    RETURNING c.id
),
audit AS (
    INSERT INTO status_changes (campaign_id, from_status, to_status, source, outcome)
    SELECT old.id, old.status, 'completed', 'webhook', 'applied' FROM old
)
SELECT id FROM upd;

-- name: webhook_events_set_outcome
UPDATE webhook_events SET outcome = $2 WHERE id = ANY($1::bigint[]);

-- name: webhook_events_prune
DELETE FROM webhook_events WHERE received_at < now() - make_interval(days => $1);

-- name: webhook_events_count
SELECT count(*) FROM webhook_events;

-- name: webhook_event_get
SELECT * FROM webhook_events WHERE id = $1;

-- name: event_counts_for
SELECT event_type, count, last_at FROM campaign_event_counts
 WHERE campaign_external_id = $1 ORDER BY event_type;
