"""Storage: SQLite, the single source of truth. Imports nothing from bot/ or handlers/."""

from storage.db import Connection, Database, DatabaseBusy, DatabaseUnusable, pending_migrations

__all__ = ["Connection", "Database", "DatabaseBusy", "DatabaseUnusable", "pending_migrations"]
