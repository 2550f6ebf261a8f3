-- Webhook events: batch store with de-duplication, counts, completions, retention.

-- name: webhook_batch_store
-- A whole batch in one statement: insert-or-skip on the dedupe key, bump the
-- counts of what was new, complete campaigns for new campaign_completed
-- events with their audit rows (outcome 'applied'; an event older than the
-- campaign's last status change is 'stale', one for a campaign already
-- completed 'already_completed'). Returns one row per input key: the stored
-- id and whether this statement stored it (id NULL: a concurrent writer
-- stored it after our snapshot; the caller looks it up).
-- Inputs are sorted by dedupe key: concurrent batches take locks in one order.
WITH input AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
           AS t(dedupe_key, event_type, campaign_external_id, event_at, payload)
), judged AS (
    -- LATERAL keeps this an index lookup per event even under a generic plan.
    SELECT i.*, c.id AS campaign_id,
           CASE
               WHEN c.id IS NULL THEN 'unknown_campaign'
               WHEN i.event_type <> 'campaign_completed' THEN 'stored'
               WHEN c.status = 'completed' THEN 'already_completed'
               WHEN i.event_at < c.status_changed_at THEN 'stale'
               ELSE 'applied'
           END AS outcome
      FROM input i
      LEFT JOIN LATERAL (
          SELECT id, status, status_changed_at FROM campaigns
           WHERE external_id = i.campaign_external_id
      ) c ON true
), ins AS (
    INSERT INTO webhook_events
           (dedupe_key, event_type, campaign_external_id, campaign_id, event_at, payload,
            outcome)
    SELECT dedupe_key, event_type, campaign_external_id, campaign_id, event_at,
           payload::jsonb, outcome
      FROM judged
     ORDER BY dedupe_key
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, dedupe_key, event_type, campaign_external_id, campaign_id, event_at, outcome
), counted AS (
    INSERT INTO campaign_event_counts AS e (campaign_external_id, event_type, count, last_at)
    SELECT COALESCE(campaign_external_id, ''), event_type, count(*),
           max(COALESCE(event_at, now()))
      FROM ins
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (campaign_external_id, event_type) DO UPDATE
       SET count = e.count + EXCLUDED.count,
           last_at = GREATEST(e.last_at, EXCLUDED.last_at)
), completing AS (
    -- The staleness test is repeated here, on the locked row: a status change
    -- committed after this statement's snapshot (a toggle) wins over an older
    -- event, because FOR UPDATE re-evaluates these conditions on the newest
    -- row version. (The event's stored outcome, judged on the snapshot, then
    -- still reads 'applied'; the audit trail has no webhook row.)
    SELECT c.id, c.status
      FROM campaigns c
     WHERE c.status <> 'completed'
       AND EXISTS (SELECT 1 FROM ins
                    WHERE ins.campaign_id = c.id AND ins.outcome = 'applied'
                      AND (ins.event_at IS NULL OR ins.event_at >= c.status_changed_at))
     ORDER BY c.id
       FOR UPDATE
), completed AS (
    UPDATE campaigns c
       SET status = 'completed', pending_status = NULL, pending_since = NULL,
           pending_token = NULL, version = c.version + 1, updated_at = now(),
           status_changed_at = now()
      FROM completing
     WHERE c.id = completing.id
    RETURNING c.id
), audited AS (
    INSERT INTO status_changes (campaign_id, from_status, to_status, source, outcome)
    SELECT id, status, 'completed', 'webhook', 'applied' FROM completing
)
SELECT i.dedupe_key,
       COALESCE(ins.id, (SELECT w.id FROM webhook_events w WHERE w.dedupe_key = i.dedupe_key))
           AS id,
       ins.id IS NOT NULL AS stored_now
  FROM input i
  LEFT JOIN ins ON ins.dedupe_key = i.dedupe_key;

-- name: webhook_events_ids
SELECT id, dedupe_key FROM webhook_events WHERE dedupe_key = ANY($1::text[]);

-- name: webhook_events_prune
-- One slice of the retention delete ($2 rows), so no single statement runs long.
DELETE FROM webhook_events
 WHERE id IN (SELECT id FROM webhook_events
               WHERE received_at < now() - make_interval(days => $1)
               ORDER BY id
               LIMIT $2);
