-- The external API budget shared by every replica on this database.
--
-- Calls are paced, not bucketed: each call reserves the next free slot, and
-- slots are at least max((1 + margin) / per_second, (60 + margin) / per_minute)
-- seconds apart. So no one-second window ever holds more than per_second calls
-- and no minute more than per_minute, even with up to `margin` seconds of
-- network delay between a slot and the call's arrival. One row; the row lock
-- of the UPDATE serialises the replicas.

CREATE TABLE external_call_pace (
    id      integer PRIMARY KEY CHECK (id = 1),
    next_at timestamptz NOT NULL
);
INSERT INTO external_call_pace (id, next_at) VALUES (1, '-infinity');

-- Reserve `slots` consecutive slots; returns how many seconds until the first
-- (the others follow at the spacing, which the caller computes the same way).
CREATE OR REPLACE FUNCTION budget_take(per_second double precision, per_minute integer,
                                       margin_seconds double precision, slots integer)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_at  timestamptz := clock_timestamp();
    spacing interval := make_interval(secs => greatest((1 + margin_seconds) / per_second,
                                                       (60 + margin_seconds) / per_minute));
    slot    timestamptz;
BEGIN
    UPDATE external_call_pace
       SET next_at = greatest(next_at, now_at) + spacing * slots
     WHERE id = 1
    RETURNING next_at - spacing * slots INTO slot;
    RETURN greatest(0, extract(epoch FROM slot - now_at));
END
$$;
