-- Liveness and session advisory locks (migrations, reconcile passes).

-- name: ping
SELECT 1;

-- name: advisory_lock
SELECT pg_advisory_lock($1);

-- name: advisory_unlock
SELECT pg_advisory_unlock($1);

-- name: try_advisory_lock
SELECT pg_try_advisory_lock($1);

-- name: advisory_lock_holder
-- Who holds session advisory lock $1 in this database: its application_name.
SELECT a.application_name
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0
   AND l.objid::bigint = $1 AND l.objsubid = 1
 LIMIT 1;
