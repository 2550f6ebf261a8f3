-- The ops console's reads (daemon/http/console): charts and grouped views.

-- name: console_events_binned
-- Webhook events received since $2, per $1-wide bin starting at $2, and type.
SELECT date_bin($1::interval, received_at, $2::timestamptz) AS bin, event_type, count(*) AS n
  FROM webhook_events
 WHERE received_at >= $2
 GROUP BY 1, 2
 ORDER BY 1, 2;

-- name: console_calls_binned
-- External calls of status changes since $2, per $1-wide bin starting at $2: how
-- many, how many succeeded, and the 95th percentile of their duration in ms.
SELECT date_bin($1::interval, at, $2::timestamptz) AS bin, count(*) AS calls,
       count(*) FILTER (WHERE call_succeeded(outcome)) AS succeeded,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
  FROM status_changes
 WHERE external_action IS NOT NULL AND at >= $2
 GROUP BY 1
 ORDER BY 1;

-- name: console_open_findings
-- A page of open findings, grouped by kind, oldest first, after the keyset
-- ($3 kind, $4 first seen, $5 id; NULLs: from the start). $1 limit, $2 kind filter,
-- $6 workspace filter (its name).
SELECT f.id, f.campaign_id, c.name AS campaign_name, c.client_id,
       client_workspace_name(c.client_id) AS workspace, f.external_id, f.kind,
       f.local_status, f.remote_status, f.expected, f.first_seen_at, f.last_seen_at,
       f.note, f.acknowledged_at, f.acknowledged_by
  FROM drift_findings f
  LEFT JOIN campaigns c ON c.id = f.campaign_id
 WHERE f.state = 'open' AND ($2::text IS NULL OR f.kind = $2)
   AND ($6::text IS NULL OR client_workspace_name(c.client_id) = $6)
   AND ($3::text IS NULL OR (f.kind, f.first_seen_at, f.id) > ($3, $4::timestamptz, $5::bigint))
 ORDER BY f.kind, f.first_seen_at, f.id
 LIMIT $1;

-- name: console_acknowledged_count
-- How many findings are acknowledged (of kind $1; NULL: every kind).
SELECT count(*) FROM drift_findings
 WHERE state = 'acknowledged' AND ($1::text IS NULL OR kind = $1);

-- name: console_open_counts
-- How many findings are open, by kind.
SELECT kind, count(*) AS n FROM drift_findings WHERE state = 'open' GROUP BY kind ORDER BY kind;

-- name: console_campaign_events
-- One campaign's event counts by type with the last time of each.
SELECT event_type, count, last_at
  FROM campaign_event_counts
 WHERE campaign_external_id = $1
 ORDER BY event_type;

-- name: console_open_over_runs
-- For each of the last $1 passes, how many findings were open when it finished.
SELECT r.id, r.started_at, r.finished_at, r.status, r.findings_opened, r.findings_resolved,
       (SELECT count(*) FROM drift_findings f
         WHERE f.first_seen_at <= coalesce(r.finished_at, r.started_at)
           AND (f.resolved_at IS NULL
                OR f.resolved_at > coalesce(r.finished_at, r.started_at))) AS open_after
  FROM (SELECT * FROM reconcile_runs ORDER BY id DESC LIMIT $1) r
 ORDER BY r.id DESC;

-- name: console_campaign_events_binned
-- One remote campaign's ($3) webhook events since $2, per $1-wide bin starting at $2.
SELECT date_bin($1::interval, received_at, $2::timestamptz) AS bin, count(*) AS n
  FROM webhook_events
 WHERE campaign_external_id = $3 AND received_at >= $2
 GROUP BY 1
 ORDER BY 1;

-- name: console_session_start
-- $1 nonce, $2 lifetime in seconds, $3 the name of the token it signed in with;
-- also forgets sessions expired a day ago.
WITH gone AS (
    DELETE FROM console_sessions WHERE expires_at < now() - interval '1 day'
)
INSERT INTO console_sessions (nonce, expires_at, caller)
VALUES ($1, now() + make_interval(secs => $2), $3);

-- name: console_session_live
-- Who a signed-in session is (its token's name), while it is live: started, not
-- ended, not expired. No row: not signed in.
SELECT coalesce(caller, 'console') FROM console_sessions
 WHERE nonce = $1 AND ended_at IS NULL AND expires_at > now();

-- name: console_session_end
UPDATE console_sessions SET ended_at = now() WHERE nonce = $1 AND ended_at IS NULL;
