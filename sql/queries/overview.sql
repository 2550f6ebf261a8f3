-- The overview's figures (the console's home and GET /overview).

-- name: overview_drift
-- Open findings per kind, with the oldest one's first sighting.
SELECT kind, count(*) AS open, min(first_seen_at) AS oldest
  FROM drift_findings WHERE state = 'open' GROUP BY kind ORDER BY kind;

-- name: overview_calls
-- External calls of status changes in the last $1 hours: how many, how many
-- succeeded, and the 95th percentile of their duration in ms.
SELECT count(*) AS calls, count(*) FILTER (WHERE call_succeeded(outcome)) AS succeeded,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
  FROM status_changes
 WHERE external_action IS NOT NULL AND at > now() - make_interval(hours => $1);

-- name: overview_campaigns
-- Campaigns per local status.
SELECT status, count(*) AS n FROM campaigns GROUP BY status;
