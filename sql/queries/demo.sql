-- The demo's history (daemon/cli/demo.py). Only ever run on the demo's own
-- database, which the demo recreates every run.

-- name: demo_spread_history
-- The events, status changes and external calls the demo just made through the real paths,
-- spread evenly over the last $1 hours in the order they were made, so the
-- console's charts show a day instead of one spike.
WITH events AS (
    SELECT id, row_number() OVER (ORDER BY id) AS i, count(*) OVER () AS n FROM webhook_events
), moved_events AS (
    UPDATE webhook_events w
       SET received_at = now() - make_interval(secs => $1 * 3600.0 * (1 - e.i::float8 / e.n)),
           event_at = now() - make_interval(secs => $1 * 3600.0 * (1 - e.i::float8 / e.n))
      FROM events e WHERE w.id = e.id
), calls AS (
    SELECT id, row_number() OVER (ORDER BY id) AS i, count(*) OVER () AS n FROM external_calls
), moved_calls AS (
    UPDATE external_calls x
       SET at = now() - make_interval(secs => $1 * 3600.0 * (1 - c.i::float8 / c.n))
      FROM calls c WHERE x.id = c.id
), changes AS (
    SELECT id, row_number() OVER (ORDER BY id) AS i, count(*) OVER () AS n FROM status_changes
)
UPDATE status_changes s
   SET at = now() - make_interval(secs => $1 * 3600.0 * (1 - c.i::float8 / c.n))
  FROM changes c WHERE s.id = c.id;
