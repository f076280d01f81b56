"""The two ways the database can fail the caller, the same for SQLite and PostgreSQL."""

from __future__ import annotations


class DatabaseUnusable(Exception):
    """The database cannot be used at all: ``reason`` is ``not_a_database``, ``damaged``, ``read_only``,
    ``migration_failed`` or ``unavailable``; ``detail`` is SQLite's own words (no personal data in them)."""

    def __init__(self, path: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{path}: {reason} {detail}".strip())
        self.path, self.reason, self.detail = path, reason, detail


class DatabaseBusy(Exception):
    """Another process held SQLite's write lock longer than the busy timeout: nothing was done; try again."""
