-- The external API's use (daemon/usage.py; table external_calls).

-- name: usage_record
-- A batch of attempts: $1 times, $2 actions, $3 outcomes, $4 durations ms, $5 waits ms,
-- $6 workspaces.
INSERT INTO external_calls (at, action, outcome, duration_ms, waited_ms, workspace_id)
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::real[], $5::real[],
                     $6::integer[]);

-- name: usage_now
-- Per workspace, the budget's use now, by every replica: calls in the last minute,
-- and the most calls that started within one second during it; with the
-- workspace's own limits (NULL: the defaults).
WITH per_second AS (
    SELECT workspace_id, count(*) AS n FROM external_calls
     WHERE at > now() - interval '1 minute'
     GROUP BY workspace_id, date_trunc('second', at)
)
SELECT w.name, w.max_rps, w.max_rpm,
       coalesce((SELECT sum(n) FROM per_second p WHERE p.workspace_id = w.id), 0) AS minute,
       coalesce((SELECT max(n) FROM per_second p WHERE p.workspace_id = w.id), 0) AS second
  FROM workspaces w
 ORDER BY w.id;

-- name: usage_busiest_minute_binned
-- Per $1-wide bin from $2: the most calls of workspace $3 that started within one minute.
SELECT date_bin($1::interval, minute, $2::timestamptz) AS bin, max(n) AS busiest
  FROM (SELECT date_trunc('minute', at) AS minute, count(*) AS n
          FROM external_calls WHERE at >= $2 AND workspace_id = $3 GROUP BY 1) per_minute
 GROUP BY 1
 ORDER BY 1;

-- name: usage_by_action
-- Since $1: workspace $2's attempts per action and outcome.
SELECT action, outcome, count(*) AS n FROM external_calls
 WHERE at >= $1 AND workspace_id = $2 GROUP BY 1, 2 ORDER BY 1, 2;

-- name: usage_waits
-- Since $1: workspace $2's attempts, 429 answers, and the wait for budget (p50, p95, ms).
SELECT count(*) AS calls, count(*) FILTER (WHERE outcome = '429') AS rate_limited,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY waited_ms) AS wait_p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY waited_ms) AS wait_p95_ms
  FROM external_calls WHERE at >= $1 AND workspace_id = $2;

-- name: usage_prune
DELETE FROM external_calls WHERE at < now() - interval '31 days';
