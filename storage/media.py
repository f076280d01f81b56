"""Kept media: the bytes of an image or a voice note a household sent, as a file in a private folder.

Platforms hand images out as URLs that expire (Zalo's CDN), so the bytes are kept when they arrive: the file is
``<database folder>/media/<id>`` (folder 0700, file 0600) and a row of ``kept_media`` says whose it is. A
submission names it as ``kept:<id>`` in ``media_file_id``. ``sweep`` removes what is no longer anyone's: rows whose
person is gone go with the person (ON DELETE CASCADE, ``/forget``), rows no submission names once they are older
than the cut-off (the purge anonymises submissions), and files without a row. The row is committed before the
file is written, so a file without a row is never one still arriving.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from storage.db import FILE_MODE, FOLDER_MODE, Connection, Database

PREFIX = "kept:"


def folder_of(db: Database) -> Path:
    """``<database folder>/media``, created owner-only."""
    folder = Path(db.files) / "media"
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    folder.chmod(FOLDER_MODE)
    return folder


def media_ref(media_id: str) -> str:
    return PREFIX + media_id


def media_id_of(ref: str | None) -> str | None:
    return ref[len(PREFIX):] if ref and ref.startswith(PREFIX) and _safe(ref[len(PREFIX):]) else None


def path_of(db: Database, ref: str | None) -> Path | None:
    """The file a ``kept:<id>`` reference names, if it is there."""
    media_id = media_id_of(ref)
    if media_id is None:
        return None
    path = folder_of(db) / media_id
    return path if path.is_file() else None


def new_id() -> str:
    return secrets.token_hex(16)


def write_file(folder: Path, media_id: str, data: bytes) -> Path:
    """Write the bytes owner-only (after the row was committed: a file without a row is always an orphan)."""
    path = folder / media_id
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


async def record(conn: Connection, media_id: str, *, channel: str, external_id: str, kind: str, size: int,
                 now: str) -> None:
    """The row of a kept file, owned by the person behind (channel, external id) if there is one yet."""
    await conn.execute(
        "INSERT INTO kept_media (id, person_id, channel, kind, size, created_at) VALUES (?, (SELECT person_id FROM"
        " identities WHERE channel = ? AND external_id = ?), ?, ?, ?, ?)",
        (media_id, channel, external_id, channel, kind, size, now),
    )


async def forget_unnamed(conn: Connection, before: str) -> list[str]:
    """Delete the rows no submission names that were kept before ``before`` (or whose person is gone)."""
    async with conn.execute(
        "SELECT id FROM kept_media k WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.media_file_id = ? || k.id)"
        " AND (k.created_at < ? OR k.person_id IS NULL)",
        (PREFIX, before),
    ) as cur:
        ids = [row[0] for row in await cur.fetchall()]
    for media_id in ids:
        await conn.execute("DELETE FROM kept_media WHERE id = ?", (media_id,))
    return ids


async def all_ids(conn: Connection) -> set[str]:
    async with conn.execute("SELECT id FROM kept_media") as cur:
        return {row[0] for row in await cur.fetchall()}


def remove_files_without_row(folder: Path, kept: set[str]) -> int:
    """Remove the files of the folder no row names (a forgotten person's); returns how many."""
    removed = 0
    for entry in folder.iterdir():
        if entry.name not in kept and entry.is_file():
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def _safe(media_id: str) -> bool:
    return len(media_id) == 32 and all(c in "0123456789abcdef" for c in media_id)
