"""The schema's history: the migrations shipped in ``storage/migrations`` (numbered once for both databases), split
into statements, and in PostgreSQL's words where needed (``storage.dialect``; a file of the same name in
``migrations/postgresql/`` replaces one that cannot be translated)."""

from __future__ import annotations

import re
from importlib import resources

from storage.dialect import SQLITE, ddl_for_postgres

TRIGGER = re.compile(r"^CREATE\s+TRIGGER\b", re.IGNORECASE)
TRIGGER_END = re.compile(r"\bEND\s*$", re.IGNORECASE)
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_statements(dialect: str) -> list[tuple[int, str, list[str]]]:
    """(number, name, statements) of every migration for this database. PostgreSQL's are translated
    (``storage.dialect.ddl_for_postgres``); SQLite's triggers cannot be, so a file of the same name in
    ``migrations/postgresql/`` holds PostgreSQL's own, which take their place."""
    if dialect == SQLITE:
        return [(number, name, split_sql(sql)) for number, name, sql in migrations()]
    own = resources.files("storage.migrations").joinpath("postgresql")
    found = []
    for number, name, sql in migrations():
        statements = [ddl_for_postgres(s) for s in split_sql(sql) if not TRIGGER.match(s)]
        override = own.joinpath(name)
        if override.is_file():
            statements += split_sql(override.read_text(encoding="utf-8"), functions=True)
        found.append((number, name, statements))
    return found


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration shipped in storage/migrations, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


SCHEMA_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")


def split_sql(script: str, *, functions: bool = False) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction). With ``functions``, a
    PostgreSQL function's body between ``$$`` marks stays whole."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        if TRIGGER.match(pending.strip()) and not TRIGGER_END.search(pending) and not functions:
            continue
        if functions and pending.count("$$") % 2:
            continue  # a trigger's body has statements of its own: it ends at its END
        if pending.strip():
            statements.append(pending.strip())
        pending = ""
    return statements
