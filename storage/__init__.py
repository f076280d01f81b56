"""Storage: SQLite (the embedded default) or PostgreSQL (several workers), behind one face. Imports nothing from bot/
or handlers/."""

from storage.backends import database_at, pending_migrations, read_snapshot
from storage.db import Connection, Database
from storage.errors import DatabaseBusy, DatabaseUnusable

__all__ = ["Connection", "Database", "DatabaseBusy", "DatabaseUnusable", "database_at", "pending_migrations",
           "read_snapshot"]
