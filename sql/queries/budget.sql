-- The external API budget shared by replicas (daemon/budget.py).

-- name: budget_take
-- Reserve the next $4 call slots. $1 calls per second, $2 calls per minute, $3 margin
-- in seconds. Returns the seconds to wait until the first slot (0: now).
SELECT budget_take($1, $2, $3, $4);
