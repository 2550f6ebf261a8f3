"""The only home of SQL in instantly-sync.

Every statement the service runs is a named query in `sql/queries/*.sql`
(a `-- name: query_name` header, then the statement); migrations are the
numbered files in `sql/migrations/`. Python code elsewhere calls queries by
name through `sql.db.Database`, so a DBA can read all of it in one place.
"""

from sql.db import Database, DatabaseUnavailable, Tx, connect
from sql.queries import QUERIES

__all__ = ["QUERIES", "Database", "DatabaseUnavailable", "Tx", "connect"]
