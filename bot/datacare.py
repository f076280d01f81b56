"""Care of people's data (Nghị định 13/2023): a person's own data, purging past dialogues, backup and restore.

Purging keeps anonymous counts (submissions by hamlet, topic and kind; seats and arrivals per hamlet) so the
commune's reports still add up, and removes names, phones, texts, voice notes, answers and the chat ids.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.clock import iso
from storage import Database

PERSON_TABLES = ("identities", "conversations", "submissions", "registrations")


@dataclass(slots=True)
class PurgeReport:
    dialogues: int = 0
    registrations: int = 0
    roster_entries: int = 0
    submissions: int = 0
    persons: int = 0
    outbox_rows: int = 0


async def find_person(conn: aiosqlite.Connection, *, channel: str | None = None, external_id: str | None = None,
                      phone: str | None = None) -> int | None:
    if channel and external_id:
        sql, params = "SELECT person_id FROM identities WHERE channel = ? AND external_id = ?", (channel, external_id)
    elif phone:
        sql, params = "SELECT id FROM persons WHERE phone = ? ORDER BY id LIMIT 1", (phone,)
    else:
        return None
    rows = await conn.execute_fetchall(sql, params)
    return rows[0][0] if rows else None


async def person_data(conn: aiosqlite.Connection, person_id: int) -> dict[str, Any] | None:
    """Everything the bot holds about one person, as plain data (for ``doithoai export-person``)."""
    rows = await conn.execute_fetchall("SELECT * FROM persons WHERE id = ?", (person_id,))
    if not rows:
        return None
    data: dict[str, Any] = {"person": dict(rows[0])}
    for table in PERSON_TABLES:
        found = await conn.execute_fetchall(f"SELECT * FROM {table} WHERE person_id = ?", (person_id,))
        data[table] = [dict(row) for row in found]
    return data


async def purge_before(db: Database, before: datetime, now: datetime) -> PurgeReport:
    """Remove the personal data of dialogues that took place before ``before`` and of older submissions."""
    report = PurgeReport()
    cutoff = iso(before)
    async with db.transaction() as conn:
        past = [r[0] for r in await conn.execute_fetchall(
            "SELECT id FROM dialogues WHERE starts_at IS NOT NULL AND starts_at < ?", (cutoff,))]
        report.dialogues = len(past)
        for dialogue_id in past:
            await _keep_counts(conn, dialogue_id, now)
            report.registrations += await _delete(conn, "DELETE FROM registrations WHERE dialogue_id = ?", dialogue_id)
            report.roster_entries += await _delete(conn, "DELETE FROM roster_entries WHERE dialogue_id = ?",
                                                   dialogue_id)
        cur = await conn.execute(
            "UPDATE submissions SET person_id = NULL, content = NULL, media_kind = NULL, media_file_id = NULL,"
            " answer = NULL WHERE created_at < ? AND (person_id IS NOT NULL OR content IS NOT NULL"
            " OR media_file_id IS NOT NULL OR answer IS NOT NULL)", (cutoff,))
        report.submissions = cur.rowcount
        report.outbox_rows = await _delete(conn, "DELETE FROM outbox WHERE created_at < ? AND status != 'pending'",
                                           cutoff)
        report.persons = await _delete(
            conn,
            "DELETE FROM persons WHERE created_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.person_id = persons.id)"
            " AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = persons.id)"
            " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.person_id = persons.id AND c.updated_at >= ?)",
            cutoff, cutoff,
        )
    return report


async def _keep_counts(conn: aiosqlite.Connection, dialogue_id: str, now: datetime) -> None:
    await conn.execute(
        "INSERT OR REPLACE INTO dialogue_stats (dialogue_id, hamlet_id, registered, waitlisted, checked_in,"
        " purged_at) SELECT h.dialogue_id, h.hamlet_id,"
        " COUNT(r.id) FILTER (WHERE r.status = 'registered'), COUNT(r.id) FILTER (WHERE r.status = 'waitlisted'),"
        " COUNT(r.id) FILTER (WHERE r.checked_in_at IS NOT NULL), ?"
        " FROM dialogue_hamlets h LEFT JOIN registrations r"
        " ON r.dialogue_id = h.dialogue_id AND r.hamlet_id = h.hamlet_id"
        " WHERE h.dialogue_id = ? AND NOT EXISTS (SELECT 1 FROM dialogue_stats s WHERE s.dialogue_id = ?"
        " AND s.hamlet_id = h.hamlet_id) GROUP BY h.hamlet_id",
        (iso(now), dialogue_id, dialogue_id),
    )


async def _delete(conn: aiosqlite.Connection, sql: str, *params: object) -> int:
    cur = await conn.execute(sql, params)
    return cur.rowcount


async def backup(db_path: str | Path, target: str | Path) -> int:
    """Copy the live database with SQLite's online backup (safe while the bot runs); returns its size in bytes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_backup_sync, str(db_path), target)
    return target.stat().st_size


def _backup_sync(source: str, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)  # owner-only from the first byte
    os.close(fd)
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst, pages=1024)
    os.replace(partial, target)


def check_backup(path: str | Path) -> list[str]:
    """Problems that make a file unfit to restore (empty when it is a sound doithoai database)."""
    path = Path(path)
    if not path.is_file():
        return [f"{path}: no such file"]
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        return [f"{path}: not an SQLite database ({exc})"]
    problems = [] if integrity == "ok" else [f"integrity check: {integrity}"]
    missing = {"persons", "submissions", "schema_migrations"} - tables
    if missing:
        problems.append(f"not a doithoai database (missing tables: {', '.join(sorted(missing))})")
    return problems


def restore(backup_file: str | Path, db_path: str | Path, now: datetime) -> Path | None:
    """Put a backup in place of the database (the bot must be stopped). The current file, if any, is kept aside
    as ``<name>.before-restore-<time>``; returns that path."""
    db_path = Path(db_path)
    kept = None
    if db_path.exists():
        kept = db_path.with_name(f"{db_path.name}.before-restore-{now.strftime('%Y%m%dT%H%M%S')}")
        _backup_sync(str(db_path), kept)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    temporary = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(backup_file, temporary)
    os.chmod(temporary, 0o600)
    os.replace(temporary, db_path)
    return kept
