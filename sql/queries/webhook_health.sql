-- Our webhook's health: backfills from the delivery log and rejected payloads.

-- name: backfill_high_water
-- Where workspace $1's next backfill starts: the end of its last successful one.
SELECT max(window_to) FROM webhook_backfills WHERE status = 'succeeded' AND workspace_id = $1;

-- name: backfill_start
-- $1 trigger (schedule|api|cli|resume), $2 window from, $3 window to, $4 workspace
INSERT INTO webhook_backfills (trigger, window_from, window_to, workspace_id)
VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: run_workspace_webhook
-- What the pass found about workspace $2's webhook ($3), on run $1's row for it.
UPDATE reconcile_run_workspaces SET webhook = $3 WHERE run_id = $1 AND workspace_id = $2;

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
