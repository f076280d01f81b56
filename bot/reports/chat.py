"""``/report [dialogue id]``: an organizer asks for the committee report and gets the Word, Excel and CSV files.

The turn only answers "preparing"; the files are written after it commits and queued through the outbox to the
organizer's chat. The request is identified by the chat and the turn's time to the second: a second /report a
moment later is a new request and is sent again, while the same request queued twice (the after-commit work
run again) is not doubled.
"""

from __future__ import annotations

import logging

from bot.core.clock import iso
from bot.core.events import OUTBOX_QUEUED
from bot.core.registry import Handler
from bot.core.turn import Turn
from bot.core.types import Message
from bot.dialogues.organizer_chat import pick_dialogue
from bot.dialogues.service import DialogueError
from bot.outbox.enqueue import Recipient
from storage import dialogues as dialogue_repo

log = logging.getLogger(__name__)


async def cmd_report(turn: Turn, args: str) -> None:
    named = args.split()[0] if args.strip() else ""
    dialogue = await dialogue_repo.get_dialogue(turn.conn, named) if named else (await pick_dialogue(turn, ""))[0]
    if dialogue is None:
        raise DialogueError("dialogues.unknown", id=named)
    context, settings, lang, now = turn.context, turn.settings, turn.lang, turn.now
    recipient = Recipient(turn.session.person.id, turn.msg.channel, turn.msg.chat_id, lang)
    key = f"report:{dialogue.id}:request:{recipient.channel}:{recipient.chat_id}:{iso(now)}"
    turn.say("report.preparing", id=dialogue.id)

    async def prepare() -> list[Message]:
        from bot.reports.build import build_report
        from bot.reports.delivery import queue_files
        from bot.reports.report_files import exports_dir

        try:
            files = await build_report(context.db, settings, dialogue.id, now=now,
                                       folder=exports_dir(settings), lang=lang)
            async with context.db.transaction() as conn:
                queued = await queue_files(conn, files, recipient, key=key, now=now)
        except Exception:
            log.exception("the report of %s could not be prepared", dialogue.id)
            return [Message(turn.t("report.failed", id=dialogue.id))]
        if queued:
            await context.events.emit(OUTBOX_QUEUED)
        return []

    turn.after_commit.append(prepare)


COMMANDS: dict[str, tuple[str | None, Handler]] = {
    "report": ("organizer", cmd_report),
}
