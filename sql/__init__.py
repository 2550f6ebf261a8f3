"""The only home of SQL in instantly-sync.

Every statement the service runs is a named query in `sql/queries/*.sql`
(a `-- name: query_name` header, then the statement); migrations are the
numbered files in `sql/migrations/`; rules several queries share are SQL
functions there (`lease_is_live`, `campaign_events`, `remote_as_local`).
Python code elsewhere calls queries by name through `sql.db.Database`, so a
DBA can read all of it in one place. `sql/dev/` holds the queries of the
tests and benchmarks; it is not shipped.
"""

from sql.db import (
    Connection,
    Database,
    DatabasePermissionDenied,
    DatabaseRefused,
    DatabaseUnavailable,
    UniqueViolation,
    connect,
)
from sql.queries import QUERIES

__all__ = [
    "QUERIES", "Connection", "Database", "DatabasePermissionDenied", "DatabaseRefused",
    "DatabaseUnavailable",
    "UniqueViolation", "connect",
]
