"""Images and voice notes kept as files when they arrive (a platform's URL of them expires), and their removal.

A channel that receives media by an expiring URL calls ``keep`` with the bytes: the row is committed first, then the
file written owner-only, and the household's input names it ``kept:<id>``; officers open it later from that file.
``sweep`` runs after ``/forget`` and after the purge: what no person and no submission holds any more goes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bot.core.clock import iso
from storage import Database, media

log = logging.getLogger(__name__)
UNNAMED_GRACE = timedelta(days=2)  # a kept file no submission names (a draft never sent) goes after this


async def keep(db: Database, *, channel: str, external_id: str, kind: str, data: bytes, now: datetime) -> str:
    """Keep the bytes; returns the reference an ``Incoming.media_id`` carries (``kept:<id>``)."""
    media_id = media.new_id()
    async with db.transaction() as conn:
        await media.record(conn, media_id, channel=channel, external_id=external_id, kind=kind, size=len(data),
                           now=iso(now))
    await asyncio.to_thread(media.write_file, media.folder_of(db), media_id, data)
    return media.media_ref(media_id)


async def sweep(db: Database, now: datetime, *, before: datetime | None = None) -> int:
    """Remove kept media nobody holds: of forgotten persons, and unnamed ones kept before ``before`` (default:
    ``now`` less the grace for drafts). Returns how many files went."""
    cutoff = before if before is not None else now - UNNAMED_GRACE
    async with db.transaction() as conn:
        await media.forget_unnamed(conn, iso(cutoff))
        kept = await media.all_ids(conn)
    removed = await asyncio.to_thread(media.remove_files_without_row, media.folder_of(db), kept)
    if removed:
        log.info("removed %d kept media file(s) nobody holds any more", removed)
    return removed
