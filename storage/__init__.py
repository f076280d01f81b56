"""Storage: SQLite (the embedded default) or PostgreSQL (several workers), behind one face. Imports nothing from bot/
or handlers/."""

from storage.db import Connection, Database, DatabaseBusy, DatabaseUnusable, database_at, pending_migrations

__all__ = ["Connection", "Database", "DatabaseBusy", "DatabaseUnusable", "database_at", "pending_migrations"]
