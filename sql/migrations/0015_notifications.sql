-- Notifications (docs/notifications.md): an outbox written in the same transaction as
-- the state each one reports, sent by a worker with retries (daemon/notify.py). A
-- message is what happened (`kind`) and its facts; its words are chosen when it is
-- sent, in NOTIFY_LANGUAGE. `dedupe_key` makes a message that several replicas could
-- write (the daily digest) exist once.
CREATE TABLE notifications (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    facts       jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key  text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    next_at     timestamptz NOT NULL DEFAULT now(),   -- the next attempt, not before
    lease_until timestamptz,                          -- a sender holds it until then
    attempts    integer NOT NULL DEFAULT 0,
    sent_at     timestamptz,                          -- every target took it
    given_up_at timestamptz                           -- too old to be worth sending
);
CREATE INDEX notifications_due_idx ON notifications (next_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL;

-- Each target (one of NOTIFY_URLS, by a fingerprint of the URL; `shown` is the URL
-- with its secrets masked) and each message: whether and when it was delivered.
CREATE TABLE notification_deliveries (
    notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    target          text NOT NULL,
    shown           text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_at         timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (notification_id, target)
);
CREATE INDEX notification_deliveries_target_idx ON notification_deliveries (target, last_at);

-- What the last notification of each watched state said (the webhook per workspace,
-- failing passes, the success rate): a message goes out when it changes, never again
-- while it stays.
CREATE TABLE notification_state (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO notification_state (key, value) VALUES ('passes', 'ok'), ('success_rate', 'ok');

-- A finding whose age was reported (DRIFT_AGE_ALERT_HOURS): reported once.
ALTER TABLE drift_findings ADD COLUMN age_notified_at timestamptz;

-- Record a watched state; when it changed, write the message `kind` with `facts` (one
-- statement: the row lock orders replicas, so a change is reported once). Returns
-- the previous value ('unknown' the first time a key is seen). `report_from`: only a
-- change from one of these values is reported (NULL: any change).
CREATE FUNCTION notify_on_change(state_key text, new_value text, kind text, facts jsonb,
                                 report_from text[] DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    previous text;
BEGIN
    INSERT INTO notification_state (key, value) VALUES (state_key, 'unknown')
        ON CONFLICT (key) DO NOTHING;
    SELECT value INTO previous FROM notification_state WHERE key = state_key FOR UPDATE;
    IF previous IS DISTINCT FROM new_value THEN
        UPDATE notification_state SET value = new_value, changed_at = now()
         WHERE key = state_key;
        IF kind IS NOT NULL AND (report_from IS NULL OR previous = ANY (report_from)) THEN
            INSERT INTO notifications (kind, facts) VALUES (kind, facts);
        END IF;
    END IF;
    RETURN previous;
END
$$;

-- A drift message's facts from its findings' kinds and campaign names (one element per
-- finding): the total, how many of each kind, and the first five names.
CREATE FUNCTION drift_message_facts(kinds text[], names text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'total', cardinality(kinds),
        'kinds', (SELECT jsonb_object_agg(k, n)
                    FROM (SELECT k, count(*) AS n FROM unnest(kinds) AS k GROUP BY k) c),
        'names', (SELECT COALESCE(jsonb_agg(name ORDER BY name), '[]'::jsonb)
                    FROM (SELECT DISTINCT name FROM unnest(names) AS name
                           WHERE name IS NOT NULL ORDER BY name LIMIT 5) n))
$$;
