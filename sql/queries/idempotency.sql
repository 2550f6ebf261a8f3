-- Idempotency-Key records (daemon/http/idempotency.py); keys live 24 hours.

-- name: idempotency_claim
INSERT INTO idempotency_keys (key, fingerprint) VALUES ($1, $2)
ON CONFLICT (key) DO NOTHING
RETURNING key;

-- name: idempotency_get
SELECT key, fingerprint, state, response_status, response_body, created_at,
       created_at < now() - interval '24 hours' AS expired,
       state = 'running' AND created_at < now() - make_interval(secs => $2) AS abandoned
  FROM idempotency_keys
 WHERE key = $1;

-- name: idempotency_takeover
-- Replace an expired (24 h) or abandoned (crashed while running) key.
UPDATE idempotency_keys
   SET fingerprint = $2, state = 'running', response_status = NULL, response_body = NULL,
       created_at = now()
 WHERE key = $1
   AND (created_at < now() - interval '24 hours'
        OR (state = 'running' AND created_at < now() - make_interval(secs => $3)))
RETURNING key;

-- name: idempotency_finish
UPDATE idempotency_keys
   SET state = 'done', response_status = $2, response_body = $3
 WHERE key = $1;

-- name: idempotency_forget
DELETE FROM idempotency_keys WHERE key = $1 AND state = 'running';

-- name: idempotency_prune
DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours';
