"""Exported files (reports, digests, charts) hold people's data: removed once sent.

A file is removed when it is older than a day and no outbox row that still has to go out refers to it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from storage import Database, outbox

log = logging.getLogger(__name__)
KEEP_FOR = timedelta(days=1)


async def remove_sent_exports(db: Database, folder: Path, now: datetime) -> int:
    async with db.reading() as conn:
        needed = "\n".join(await outbox.unsent_payloads(conn))
    cutoff = (now - KEEP_FOR).timestamp()
    removed = await asyncio.to_thread(_remove, folder, needed, cutoff)
    if removed:
        log.info("removed %d exported file(s) already sent", removed)
    return removed


def _remove(folder: Path, needed: str, cutoff: float) -> int:
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff and str(path) not in needed:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def remove_every_export(folder: Path) -> int:
    """Every exported file, sent or not (a household asked to be forgotten: any report may hold its name; they are
    made again on demand). The temporary folders of running processes are left alone."""
    removed = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
