-- The external API budget shared by replicas (daemon/budget.py).

-- name: budget_take
-- Reserve the next call slot. $1 calls per second, $2 calls per minute, $3 margin
-- in seconds. Returns the seconds to wait before making the call (0: now).
SELECT budget_take($1, $2, $3);
