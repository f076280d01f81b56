"""Storage: SQLite, the single source of truth. Imports nothing from bot/ or handlers/."""

from storage.db import Connection, Database, DatabaseBusy, DatabaseUnusable

__all__ = ["Connection", "Database", "DatabaseBusy", "DatabaseUnusable"]
