"""``/digest``: the new questions of one's scope since the last daily digest, on demand.

It shows what the next daily digest will bring and does not move the watermark: an officer who looks at noon still
gets the whole day's list (and its Excel file) in the evening, and nothing falls between the two. The text is the
reply, read and written after the turn commits, off the event loop (``Database.snapshot``); the chart and the Excel
list are made then too and go through the outbox. Asking twice with nothing new in between does not send the same
files twice.
"""

from __future__ import annotations

import logging

from bot.core.events import OUTBOX_QUEUED
from bot.core.i18n import t
from bot.core.registry import Handler
from bot.core.turn import Turn
from bot.core.types import Message
from bot.core.vntime import vn_datetime
from bot.digest import service as digest
from bot.outbox.enqueue import Recipient

log = logging.getLogger(__name__)


async def cmd_digest(turn: Turn, args: str) -> None:
    """The role was checked in the turn; the reading, the grouping, the text and the files are made after it
    commits, in the worker process on a snapshot (10,000 questions take seconds to group: never on the event loop,
    never under the turns' lock, never in a thread of the bot's process holding the GIL)."""
    msg, db, settings, lang, now = turn.msg, turn.context.db, turn.settings, turn.lang, turn.now
    recipient = Recipient(turn.session.person.id, msg.channel, msg.chat_id, lang)

    async def answer() -> list[Message]:
        ready = await digest.on_demand(db, settings, msg.channel, msg.user_id, lang, now)
        if not ready.count:
            if ready.since is None:
                return [Message(t("digest.nothing_yet", lang))]
            return [Message(t("digest.nothing_new", lang, since=vn_datetime(ready.since, settings.tz)))]
        return [Message(ready.text), *await queue_files(ready)]

    async def queue_files(ready: digest.OnDemand) -> list[Message]:
        if ready.files is None:
            log.warning("the files of /digest for %s:%s could not be made", msg.channel, msg.user_id)
            return [Message(t("digest.files_failed", lang))]
        async with db.transaction() as conn:
            queued = await digest.queue_messages(conn, recipient, digest.file_messages(ready.files, ready.count, lang),
                                                 f"digest-now:{msg.channel}:{msg.user_id}:{ready.files.stem}", now)
        return [] if queued else [Message(t("digest.files_already", lang))]

    turn.after_commit.append(answer)
    turn.emit(OUTBOX_QUEUED)  # emitted after the after-commit work has queued the files


COMMANDS: dict[str, tuple[str | None, Handler]] = {"digest": ("officer", cmd_digest)}
