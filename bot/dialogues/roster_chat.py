"""An organizer sends the roster file to the bot: download and import it after the turn has committed."""

from __future__ import annotations

from bot.core.errors import Refusal
from bot.core.turn import Turn
from bot.core.types import Message
from bot.dialogues.states import DialogueKey


async def roster_upload(turn: Turn) -> None:
    caption = turn.msg.text.strip()
    dialogue_id = turn.data.pop(DialogueKey.AWAITING_ROSTER, None)
    if caption.lower().startswith("/roster"):
        dialogue_id = caption.split(maxsplit=1)[1].strip() if " " in caption else dialogue_id
    if not dialogue_id:
        turn.say("staff.roster_which")
        return
    turn.touch()
    fetch = turn.context.file_fetchers.get(turn.msg.channel)
    if fetch is None:
        turn.say("staff.roster_no_download")
        return
    msg, context, settings, lang = turn.msg, turn.context, turn.settings, turn.lang
    turn.say("staff.roster_received", name=msg.file_name or "?", id=dialogue_id)

    async def import_it() -> list[Message]:
        from bot.dialogues.roster import RosterError, import_roster

        try:
            data = await fetch(msg.media_id)
            report = await import_roster(context.db, settings, dialogue_id, data=data,
                                         filename=msg.file_name, now=context.clock(), lang=lang)
        except (RosterError, Refusal) as exc:
            return [Message(exc.text(lang))]
        return [Message(report.text(lang))]

    turn.after_commit.append(import_it)
