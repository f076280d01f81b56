"""Storage: SQLite, the single source of truth. Imports nothing from bot/ or handlers/."""

from storage.db import Connection, Database, DatabaseUnusable

__all__ = ["Connection", "Database", "DatabaseUnusable"]
