-- Bookkeeping of applied migrations (sql/migrate.py).

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: applied_migrations
SELECT version FROM schema_migrations ORDER BY version;

-- name: record_migration
INSERT INTO schema_migrations (version) VALUES ($1);

-- name: migrations_table_exists
SELECT to_regclass('schema_migrations') IS NOT NULL;

-- name: tables_in_schema
-- The tables of the schema our tables go into (a fresh install expects none).
SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename;
