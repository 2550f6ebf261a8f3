-- Every attempt of a call to the external service, from every replica: what the
-- console's API-usage figures and the budget gauges are counted from (the
-- process's own Prometheus counters see one replica only). Kept 31 days (the
-- longest chart), pruned by the hourly job.
CREATE TABLE external_calls (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    outcome     text NOT NULL,    -- ok, an HTTP status ("429", "500"), or unreachable
    duration_ms real NOT NULL,
    waited_ms   real NOT NULL     -- time spent waiting for the shared budget first
);
CREATE INDEX external_calls_at_idx ON external_calls (at);
