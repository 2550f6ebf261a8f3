-- Liveness and session advisory locks (migrations, reconcile passes).

-- name: ping
SELECT 1;

-- name: advisory_lock
SELECT pg_advisory_lock($1);

-- name: advisory_unlock
SELECT pg_advisory_unlock($1);

-- name: try_advisory_lock
SELECT pg_try_advisory_lock($1);
