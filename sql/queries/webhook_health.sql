-- Our webhook's health: backfills from the delivery log and rejected payloads.

-- name: backfill_high_water
-- Where the next backfill starts: the end of the last successful one.
SELECT max(window_to) FROM webhook_backfills WHERE status = 'succeeded';

-- name: backfill_start
-- $1 trigger (schedule|api|cli|resume), $2 window from, $3 window to
INSERT INTO webhook_backfills (trigger, window_from, window_to) VALUES ($1, $2, $3)
RETURNING id;

-- name: backfill_finish
-- $1 id, $2 status, $3 read, $4 stored, $5 duplicates, $6 rejected, $7 error
UPDATE webhook_backfills
   SET finished_at = now(), status = $2, read = $3, stored = $4, duplicates = $5,
       rejected = $6, error = $7
 WHERE id = $1
RETURNING *;

-- name: backfill_list
SELECT * FROM webhook_backfills ORDER BY id DESC LIMIT $1;

-- name: webhook_reject_keep
-- A delivery-log payload that failed validation; returns the id only the first time.
INSERT INTO webhook_rejects (log_event_id, reason, payload) VALUES ($1, $2, $3)
ON CONFLICT (log_event_id) DO NOTHING
RETURNING id;

-- name: run_set_webhook
-- $1 run id, $2 what the pass found about our webhook (subscription, backfill)
UPDATE reconcile_runs SET webhook = $2 WHERE id = $1
RETURNING *, run_workspaces(id) AS workspaces;
