"""Storage: SQLite through aiosqlite, the single source of truth. Imports no platform library."""

from storage.db import Database

__all__ = ["Database"]
