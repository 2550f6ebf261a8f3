-- The external API budget shared by replicas (daemon/budget.py).

-- name: budget_take
-- Reserve the next $5 call slots of workspace $1. $2 calls per second, $3 calls per
-- minute, $4 margin in seconds. Returns the seconds to wait until the first slot (0: now).
SELECT budget_take($1::integer, $2, $3, $4, $5);
