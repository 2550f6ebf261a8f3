-- Suspending syncing (daemon/suspension.py).

-- name: suspension_current
-- The open suspension, if any.
SELECT * FROM sync_suspensions WHERE resumed_at IS NULL;

-- name: suspension_start
-- $1 by, $2 reason, $3 no_read. Nothing (no row) when one is already open.
INSERT INTO sync_suspensions (suspended_by, reason, no_read) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: suspension_end
-- $1 by. The suspension that was open (no row: none was).
UPDATE sync_suspensions SET resumed_at = now(), resumed_by = $1
 WHERE resumed_at IS NULL
RETURNING *;

-- name: suspension_list
-- The last $1 suspensions, newest first.
SELECT * FROM sync_suspensions ORDER BY id DESC LIMIT $1;
