-- Webhook events: batch store with de-duplication, counts, completions, retention.

-- name: webhook_batch_store
-- A whole batch in one statement: insert-or-skip on the dedupe key and bump
-- the counts of what was new. An event never changes a campaign's status by
-- itself: campaign_completed may be per lead, so campaign_completed and
-- account_error for a known campaign are stored as 'check_pending' and the
-- caller schedules a check of that campaign (webhook_confirm_campaign).
-- Returns one row per input key: the stored id, whether this statement stored
-- it (id NULL: a concurrent writer stored it after our snapshot; the caller
-- looks it up) and, for a check, the campaign's external id.
-- Inputs are sorted by dedupe key: concurrent batches take locks in one order.
-- An event is applied only to a campaign of the workspace whose endpoint received
-- it ($6): a campaign id of another workspace counts as unknown.
WITH input AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                  $6::integer[])
           AS t(dedupe_key, event_type, campaign_external_id, event_at, payload, workspace_id)
), judged AS (
    -- LATERAL keeps this an index lookup per event even under a generic plan.
    SELECT i.*, c.id AS campaign_id,
           CASE
               WHEN c.id IS NULL THEN 'unknown_campaign'
               WHEN i.event_type IN ('campaign_completed', 'account_error')
                   THEN 'check_pending'
               ELSE 'stored'
           END AS outcome
      FROM input i
      LEFT JOIN LATERAL (
          SELECT c.id FROM campaigns c
            LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
           WHERE c.external_id = i.campaign_external_id
             AND COALESCE(cw.workspace_id, 1) = i.workspace_id
      ) c ON true
), ins AS (
    INSERT INTO webhook_events
           (dedupe_key, event_type, campaign_external_id, campaign_id, event_at, payload,
            outcome, workspace_id)
    SELECT dedupe_key, event_type, campaign_external_id, campaign_id, event_at,
           payload::jsonb, outcome, workspace_id
      FROM judged
     ORDER BY dedupe_key
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, dedupe_key, event_type, campaign_external_id, event_at, outcome
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
)
SELECT i.dedupe_key,
       COALESCE(ins.id, (SELECT w.id FROM webhook_events w WHERE w.dedupe_key = i.dedupe_key))
           AS id,
       ins.id IS NOT NULL AS stored_now,
       CASE WHEN ins.outcome = 'check_pending' THEN ins.campaign_external_id END AS check_campaign
  FROM input i
  LEFT JOIN ins ON ins.dedupe_key = i.dedupe_key;

-- name: webhook_confirm_campaign
-- The result of checking one campaign after campaign_completed / account_error
-- events: record the remote status; when it is 3 (completed) complete the
-- local campaign (clearing any toggle lease) with its audit row (source
-- webhook); then settle the events that waited for this check.
-- $1 external id, $2 remote status (NULL: the check failed or the campaign is
-- gone remotely), $3 outcome for waiting campaign_completed events when not
-- completed now ('not_confirmed' or 'check_failed').
WITH target AS (
    SELECT id, status FROM campaigns WHERE external_id = $1 FOR UPDATE
), completed AS (
    UPDATE campaigns c
       SET status = 'completed', pending_status = NULL, pending_since = NULL,
           pending_token = NULL, remote_status = $2, remote_checked_at = now(),
           version = c.version + 1, updated_at = now(), status_changed_at = now()
      FROM target t
     WHERE c.id = t.id AND $2 = 3 AND t.status <> 'completed'
    RETURNING c.id
), recorded AS (
    UPDATE campaigns c
       SET remote_status = $2, remote_checked_at = now()
      FROM target t
     WHERE c.id = t.id AND $2 IS NOT NULL AND NOT ($2 = 3 AND t.status <> 'completed')
), audited AS (
    INSERT INTO status_changes (campaign_id, from_status, to_status, source, outcome)
    SELECT t.id, t.status, 'completed', 'webhook', 'applied'
      FROM target t JOIN completed USING (id)
), settled AS (
    UPDATE webhook_events w
       SET outcome = CASE
               WHEN w.event_type <> 'campaign_completed'
                   THEN CASE WHEN $2 IS NULL THEN 'check_failed' ELSE 'checked' END
               WHEN EXISTS (SELECT 1 FROM completed) THEN 'applied'
               WHEN $2 = 3 THEN 'already_completed'
               ELSE $3
           END
      FROM target t
     WHERE w.campaign_id = t.id AND w.outcome = 'check_pending'
    RETURNING w.id
)
SELECT (SELECT count(*) FROM completed) AS completed, (SELECT count(*) FROM settled) AS settled;

-- name: webhook_events_ids
SELECT id, dedupe_key FROM webhook_events WHERE dedupe_key = ANY($1::text[]);

-- name: webhook_events_prune
-- One slice of the retention delete ($2 rows), so no single statement runs long.
DELETE FROM webhook_events
 WHERE id IN (SELECT id FROM webhook_events
               WHERE received_at < now() - make_interval(days => $1)
               ORDER BY id
               LIMIT $2);

-- name: webhook_event_outcome
SELECT id, event_type, outcome FROM webhook_events WHERE id = $1;

-- name: campaign_workspace_by_external_id
-- The workspace a linked campaign is read in (its client's), for a campaign check.
SELECT w.id, w.version
  FROM campaigns c
  LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
  JOIN workspaces w ON w.id = COALESCE(cw.workspace_id, 1)
 WHERE c.external_id = $1;
