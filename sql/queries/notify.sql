-- Notifications: the outbox's writes (each in the statement or transaction of the state
-- it reports), the sender's claims and deliveries (daemon/notify.py).

-- name: notify_new_drift
-- In the pass's transaction: the unexpected findings this pass ($1) opened, as one
-- message (counts per kind, the first campaign names); nothing when there are none.
INSERT INTO notifications (kind, facts)
SELECT 'drift_new', drift_message_facts(array_agg(f.kind), array_agg(c.name))
                    || jsonb_build_object('run_id', $1::bigint)
  FROM drift_findings f LEFT JOIN campaigns c ON c.id = f.campaign_id
 WHERE f.last_run_id = $1 AND f.first_seen_at = now() AND f.state = 'open'
   AND NOT f.expected
HAVING count(*) > 0;

-- name: notify_old_drift
-- Open unexpected findings first seen more than $1 hours ago and not reported yet: marked
-- reported and written as one message, in one statement (a replica running the same
-- job at once finds them marked).
WITH old AS (
    UPDATE drift_findings f SET age_notified_at = now()
     WHERE f.state = 'open' AND NOT f.expected AND f.age_notified_at IS NULL
       AND f.first_seen_at < now() - make_interval(hours => $1)
    RETURNING f.kind, f.campaign_id
)
INSERT INTO notifications (kind, facts)
SELECT 'drift_old', drift_message_facts(array_agg(old.kind), array_agg(c.name))
                    || jsonb_build_object('hours', $1::integer)
  FROM old LEFT JOIN campaigns c ON c.id = old.campaign_id
HAVING count(*) > 0;

-- name: notify_on_change
-- $1 state key, $2 its value now, $3 the message's kind (NULL: none), $4 its facts,
-- $5 the previous values a change from is reported (NULL: any). The previous value.
SELECT notify_on_change($1, $2, $3, $4, $5::text[]);

-- name: notify_recent_runs
-- The statuses of the last $1 finished passes, newest first (skipped ones left out).
SELECT status, error FROM reconcile_runs
 WHERE status IN ('succeeded', 'failed')
 ORDER BY id DESC LIMIT $1;

-- name: notify_success_rate
-- External call attempts of the last hour, and how many were answered ok.
SELECT count(*) AS calls, count(*) FILTER (WHERE outcome = 'ok') AS ok
  FROM external_calls WHERE at > now() - interval '1 hour';

-- name: notify_digest
-- The day's digest, once per day ($1, a date) whichever replica writes it first: open
-- findings by kind with the oldest's age, passes by status, events per type and the
-- external call success rate of the last 24 hours.
INSERT INTO notifications (kind, facts, dedupe_key)
SELECT 'digest', jsonb_build_object(
    'day', $1::text,
    'drift', (SELECT COALESCE(jsonb_object_agg(kind, jsonb_build_object(
                  'open', n, 'oldest_hours', hours)), '{}'::jsonb)
                FROM (SELECT kind, count(*) AS n,
                             floor(extract(epoch FROM now() - min(first_seen_at)) / 3600)::int
                                 AS hours
                        FROM drift_findings WHERE state = 'open' GROUP BY kind) d),
    'passes', (SELECT COALESCE(jsonb_object_agg(status, n), '{}'::jsonb)
                 FROM (SELECT status, count(*) AS n FROM reconcile_runs
                        WHERE started_at > now() - interval '24 hours' GROUP BY status) p),
    'events', (SELECT COALESCE(jsonb_object_agg(event_type, n), '{}'::jsonb)
                 FROM (SELECT event_type, count(*) AS n FROM webhook_events
                        WHERE received_at > now() - interval '24 hours'
                        GROUP BY event_type) e),
    'calls', (SELECT count(*) FROM external_calls WHERE at > now() - interval '24 hours'),
    'calls_ok', (SELECT count(*) FROM external_calls
                  WHERE at > now() - interval '24 hours' AND outcome = 'ok')),
    'digest:' || $1::text
ON CONFLICT (dedupe_key) DO NOTHING;

-- name: notify_insert
-- A message written on its own (a test message): $1 kind, $2 facts.
INSERT INTO notifications (kind, facts) VALUES ($1, $2) RETURNING id;

-- name: notify_claim
-- Up to $2 due messages, each leased to this sender for $1 seconds; a message another
-- sender holds (or has just claimed) is skipped, so each is sent by one at a time.
UPDATE notifications n
   SET lease_until = now() + make_interval(secs => $1), attempts = n.attempts + 1
 WHERE n.id IN (SELECT id FROM notifications
                 WHERE sent_at IS NULL AND given_up_at IS NULL AND next_at <= now()
                   AND (lease_until IS NULL OR lease_until < now())
                 ORDER BY id
                 LIMIT $2
                   FOR UPDATE SKIP LOCKED)
RETURNING n.id, n.kind, n.facts, n.attempts, n.created_at;

-- name: notify_delivered_targets
-- The targets message $1 has already reached.
SELECT target FROM notification_deliveries
 WHERE notification_id = $1 AND delivered_at IS NOT NULL;

-- name: notify_delivery_record
-- One attempt of message $1 to target $2 (shown as $3): $4 delivered, $5 the error.
INSERT INTO notification_deliveries AS d
       (notification_id, target, shown, attempts, last_at, delivered_at, last_error)
VALUES ($1, $2, $3, 1, now(), CASE WHEN $4 THEN now() END, $5)
ON CONFLICT (notification_id, target) DO UPDATE
   SET attempts = d.attempts + 1, last_at = now(), shown = EXCLUDED.shown,
       delivered_at = COALESCE(d.delivered_at, EXCLUDED.delivered_at),
       last_error = EXCLUDED.last_error;

-- name: notify_done
-- Message $1 reached every target: sent.
UPDATE notifications SET sent_at = now(), lease_until = NULL WHERE id = $1;

-- name: notify_retry
-- Message $1 missed a target: again in $2 seconds, or given up once it is $3 hours old.
UPDATE notifications
   SET lease_until = NULL, next_at = now() + make_interval(secs => $2),
       given_up_at = CASE WHEN created_at < now() - make_interval(hours => $3)
                          THEN now() END
 WHERE id = $1
RETURNING given_up_at IS NOT NULL AS given_up;

-- name: notify_last_deliveries
-- Per target, its last attempt, whether that one was delivered and its error, and the
-- last delivery (the console's health page).
SELECT DISTINCT ON (target) target, shown, last_at, delivered_at IS NOT NULL AS ok,
       last_error,
       (SELECT max(delivered_at) FROM notification_deliveries x
         WHERE x.target = d.target) AS last_delivered_at
  FROM notification_deliveries d
 ORDER BY target, last_at DESC;

-- name: notify_pending
-- Messages not yet delivered to every target, and the oldest one's age in seconds.
SELECT count(*) AS pending,
       COALESCE(extract(epoch FROM now() - min(created_at)), 0)::double precision
           AS oldest_seconds
  FROM notifications WHERE sent_at IS NULL AND given_up_at IS NULL;

-- name: notify_prune
-- Sent and given-up messages after 31 days.
DELETE FROM notifications
 WHERE COALESCE(sent_at, given_up_at) < now() - interval '31 days';
