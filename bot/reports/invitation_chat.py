"""``/invitation [dialogue id] [hamlet id]``: an organizer gets the paper invitations as a Word file, one page per
hamlet (or one hamlet's page), to print for the hamlet heads.

As with /report, the turn only answers "preparing"; the file is written after the turn commits and queued through
the outbox to the organizer's chat, keyed by the chat and the turn's time (the same request queued twice is not
doubled).
"""

from __future__ import annotations

import logging

from bot.core.clock import iso
from bot.core.events import OUTBOX_QUEUED
from bot.core.registry import Handler
from bot.core.turn import Turn
from bot.core.types import Message
from bot.dialogues.organizer_chat import find_hamlet, pick_dialogue
from bot.dialogues.service import DialogueError
from bot.outbox.enqueue import Priority, Recipient, enqueue

log = logging.getLogger(__name__)


async def cmd_invitation(turn: Turn, args: str) -> None:
    dialogue, rest = await pick_dialogue(turn, args)
    hamlet_id = None
    if rest:
        hamlet_id = find_hamlet(turn, rest)
        if hamlet_id is None:
            raise DialogueError("invitation.unknown_hamlet", id=dialogue.id, hamlet=rest,
                                known=", ".join(h.id for h in turn.settings.hamlets()))
    context, settings, lang, now = turn.context, turn.settings, turn.lang, turn.now
    recipient = Recipient(turn.session.person.id, turn.msg.channel, turn.msg.chat_id, lang)
    key = f"invitation:{dialogue.id}:{hamlet_id or 'all'}:{recipient.channel}:{recipient.chat_id}:{iso(now)}"
    turn.say("invitation.preparing", id=dialogue.id)

    async def prepare() -> list[Message]:
        from bot.reports.invitation import file_name, make_invitations
        from bot.reports.report_files import exports_dir

        name = file_name(dialogue.id, hamlet_id)
        path = exports_dir(settings) / f"{iso(now).replace(':', '')}-{name}"
        try:
            pages = await make_invitations(context.db, settings, dialogue.id, path, hamlet_id=hamlet_id,
                                           bot_username=context.bot_username or settings.telegram.username,
                                           now=now, lang=lang)
            caption = turn.t("invitation.caption", title=dialogue.title, count=pages)
            async with context.db.transaction() as conn:
                queued = await enqueue(conn, key=key, recipient=recipient, kind="report", priority=Priority.DIGEST,
                                       message=Message(caption, document_path=str(path), document_name=name),
                                       now=now)
        except DialogueError as refused:
            return [Message(refused.text(lang))]
        except Exception:
            log.exception("the invitations of %s could not be made", dialogue.id)
            return [Message(turn.t("invitation.failed", id=dialogue.id))]
        if queued:
            await context.events.emit(OUTBOX_QUEUED)
        return []

    turn.after_commit.append(prepare)


COMMANDS: dict[str, tuple[str | None, Handler]] = {
    "invitation": ("organizer", cmd_invitation),
}
