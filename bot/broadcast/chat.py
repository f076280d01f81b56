"""``/broadcast`` in the chat: an organizer composes an announcement, picks who gets it, sees it as households will,
and confirms it once (now or at a time); ``/broadcasts`` lists past ones with their tallies; ``/radio`` writes the
loudspeaker script of a broadcast or a dialogue.

The draft lives in the ``broadcasts`` table (its id in the organizer's conversation data), so the flow survives a
restart like any other step. The confirm button moves the conversation on: a second tap on it is an old keyboard
and is answered as such; the draft's status moves in the same transaction, so even a race cannot send it twice.
"""

from __future__ import annotations

import asyncio
import re
from enum import StrEnum
from pathlib import Path

from bot.broadcast import radio
from bot.broadcast import service as broadcast
from bot.broadcast.service import BROADCAST_CHANGED, Audience
from bot.core.choices import tag, untag
from bot.core.errors import Refusal
from bot.core.events import OUTBOX_QUEUED
from bot.core.i18n import t
from bot.core.registry import Handler
from bot.core.steps import BACK, CANCEL, Step, nav
from bot.core.text import clean, shorten
from bot.core.turn import Turn
from bot.core.types import Choice, Message
from bot.core.vntime import parse_vn_datetime, vn_datetime
from bot.dialogues.organizer_chat import pick_dialogue
from bot.form.states import CATEGORIES
from bot.staff import audit
from storage import broadcasts as repo
from storage import dialogues as dialogue_repo
from storage.broadcasts import BroadcastRow

LIST_LIMIT = 10
FILES_DIR = "broadcast-files"
AUDIENCE_TAG = "a"  # ``a:<kind>[:<ref>]``, an audience as Audience.parse reads it


class BroadcastStep(StrEnum):
    COMPOSE = "bc_compose"
    AUDIENCE = "bc_audience"
    HAMLET = "bc_hamlet"
    CATEGORY = "bc_category"
    PREVIEW = "bc_preview"
    WHEN = "bc_when"


class BroadcastKey(StrEnum):
    ID = "bc_id"          # the draft being composed (a row of the broadcasts table)
    RETURN = "bc_return"  # the step the organizer was at before /broadcast


STEP_NAMES = frozenset(BroadcastStep)


# ---- the draft in the conversation ----------------------------------------------------------------------------------


async def current(turn: Turn) -> BroadcastRow | None:
    """The draft this organizer is composing, if it is still a draft."""
    broadcast_id = turn.data.get(BroadcastKey.ID)
    row = await repo.get(turn.conn, broadcast_id) if isinstance(broadcast_id, int) else None
    return row if row is not None and row.status == "draft" else None


def leave(turn: Turn) -> None:
    turn.data.pop(BroadcastKey.ID, None)
    turn.resume(turn.data.pop(BroadcastKey.RETURN, None))


async def abandon(turn: Turn) -> None:
    row = await current(turn)
    if row is not None:
        await broadcast.cancel(turn.conn, row.id)
    turn.say("broadcast.abandoned")
    leave(turn)


def gone(turn: Turn) -> Message:
    return Message(turn.t("broadcast.draft_gone"), (turn.choice("leave", "broadcast.to_menu"),))


def after_content(turn: Turn, row: BroadcastRow) -> None:
    turn.goto(BroadcastStep.PREVIEW if Audience.from_json(row.audience) else BroadcastStep.AUDIENCE)


async def refused(turn: Turn, exc: Refusal) -> None:
    turn.say_text(exc.text(turn.lang))


class BroadcastStepBase(Step):
    """A step of composing an announcement: staff work (no consent needed); cancel drops the draft."""

    needs_consent = False
    role = "organizer"

    async def on_cancel(self, turn: Turn) -> None:
        await abandon(turn)


# ---- steps ----------------------------------------------------------------------------------------------------------


class Compose(BroadcastStepBase):
    """The announcement: typed text, or a photo with its caption (a document: see ``on_document``)."""

    name = BroadcastStep.COMPOSE
    free_text = True
    takes_documents = True

    async def prompt(self, turn: Turn) -> Message:
        row = await current(turn)
        if row is None:
            return gone(turn)
        text = turn.t("broadcast.ask_text", limit=f"{broadcast.MAX_TEXT:,}".replace(",", "."))
        note = broadcast.attachment_note(row, turn.lang)
        if note:
            text += "\n\n" + turn.t("broadcast.attached", what=note)
        return Message(text, tuple(nav(turn, back=bool(row.text))))

    async def on_choice(self, turn: Turn, value: str) -> None:
        await self.on_back(turn)  # "leave" under a draft that is gone

    async def on_back(self, turn: Turn) -> None:
        row = await current(turn)
        if row is None:
            leave(turn)
        else:
            after_content(turn, row)

    async def on_text(self, turn: Turn, text: str) -> None:
        await take_text(turn, text)

    async def on_media(self, turn: Turn) -> None:
        row = await current(turn)
        if row is None:
            return
        if turn.msg.media_kind != "photo":
            turn.say("broadcast.photo_only")
            return
        caption = clean(turn.msg.text)
        try:
            text = broadcast.check_text(caption) if caption else row.text
        except Refusal as exc:
            await refused(turn, exc)
            return
        row = await broadcast.edit(turn.conn, row.id, photo=turn.msg.media_id, photo_path="", document_id="",
                                   document_path="", document_name="", text=text)
        if text:
            turn.say("broadcast.photo_received")
            after_content(turn, row)
        else:
            turn.say("broadcast.photo_received_ask_text")
            turn.touch()

    async def on_document(self, turn: Turn) -> None:
        """A file to attach (the engine routes an organizer's document here while this step is open)."""
        row = await current(turn)
        if row is None:
            return
        fetch = turn.context.file_fetchers.get(turn.msg.channel)
        if fetch is None:
            turn.say("broadcast.document_no_download")
            return
        name = Path(turn.msg.file_name or "").name or "tep-dinh-kem"
        caption = clean(turn.msg.text)
        try:
            text = broadcast.check_text(caption) if caption else row.text
        except Refusal as exc:
            await refused(turn, exc)
            return
        row = await broadcast.edit(turn.conn, row.id, document_id=turn.msg.media_id, document_name=name,
                                   document_path="", photo="", photo_path="", text=text)
        turn.say("broadcast.document_received", name=name)
        if text:
            after_content(turn, row)
        else:
            turn.touch()
        db, media_id, lang, broadcast_id = turn.context.db, turn.msg.media_id, turn.lang, row.id
        folder = Path(turn.settings.database.path).parent / FILES_DIR

        async def download() -> list[Message]:
            try:
                data = await fetch(media_id)
            except Exception:  # too large for the platform's download, or the network failed
                data = b""
            if not data or len(data) > broadcast.MAX_DOCUMENT_BYTES:
                async with db.transaction() as conn:
                    await repo.update(conn, broadcast_id, document_id="", document_name="")
                return [Message(t("broadcast.document_failed", lang, name=name))]
            path = folder / f"{broadcast_id}-{_safe(name)}"
            await asyncio.to_thread(_write, path, data)
            async with db.transaction() as conn:
                await repo.update(conn, broadcast_id, document_path=str(path))
            return []

        turn.after_commit.append(download)


async def take_text(turn: Turn, text: str) -> None:
    """The announcement's text, typed at the compose step or after /broadcast; refused if empty or too long."""
    row = await current(turn)
    if row is None:
        return
    try:
        row = await broadcast.edit(turn.conn, row.id, text=broadcast.check_text(text))
    except Refusal as exc:
        await refused(turn, exc)
        return
    after_content(turn, row)


class AudienceStep(BroadcastStepBase):
    name = BroadcastStep.AUDIENCE
    back_to = BroadcastStep.COMPOSE

    async def prompt(self, turn: Turn) -> Message:
        if await current(turn) is None:
            return gone(turn)
        choices = [turn.choice(tag(AUDIENCE_TAG, "everyone"), "broadcast.aud_everyone")]
        for dialogue in await dialogue_repo.list_dialogues(turn.conn, broadcast.CURRENT_DIALOGUES):
            choices += [turn.choice(tag(AUDIENCE_TAG, f"dialogue:{dialogue.id}"), "broadcast.aud_dialogue",
                                    id=dialogue.id),
                        turn.choice(tag(AUDIENCE_TAG, f"waitlist:{dialogue.id}"), "broadcast.aud_waitlist_of",
                                    id=dialogue.id)]
        choices += [turn.choice("hamlet", "broadcast.pick_hamlet"), turn.choice("category", "broadcast.pick_category"),
                    turn.choice(tag(AUDIENCE_TAG, "no-question"), "broadcast.aud_no_question"), *nav(turn)]
        return Message(turn.t("broadcast.ask_audience"), tuple(choices))

    async def on_choice(self, turn: Turn, value: str) -> None:
        moves = {"hamlet": BroadcastStep.HAMLET, "category": BroadcastStep.CATEGORY}
        if value in moves:
            turn.goto(moves[value])
        else:
            await choose_audience(turn, value)


async def choose_audience(turn: Turn, value: str) -> None:
    """A tapped audience (``a:<kind>[:<ref>]``), or leave (the draft is gone)."""
    row = await current(turn)
    code = untag(value, AUDIENCE_TAG)
    if row is None:
        leave(turn)
    elif code is not None:
        try:
            await broadcast.set_audience(turn.conn, turn.settings, row.id, Audience.parse(code))
        except Refusal as exc:
            await refused(turn, exc)
            return
        turn.goto(BroadcastStep.PREVIEW)


class _AudienceDetail(BroadcastStepBase):
    """A second question about the audience (which hamlet, which category): back returns to the audience list."""

    back_to = BroadcastStep.AUDIENCE

    async def on_choice(self, turn: Turn, value: str) -> None:
        await choose_audience(turn, value)


class HamletStep(_AudienceDetail):
    name = BroadcastStep.HAMLET

    async def prompt(self, turn: Turn) -> Message:
        units = [u for u in turn.settings.iter_units() if not (len(turn.settings.units) == 1
                                                               and u is turn.settings.units[0])]
        choices = [Choice(tag(AUDIENCE_TAG, f"hamlet:{u.id}"), u.name) for u in units]
        return Message(turn.t("broadcast.ask_hamlet"), (*choices, *nav(turn)), columns=2)


class CategoryStep(_AudienceDetail):
    name = BroadcastStep.CATEGORY

    async def prompt(self, turn: Turn) -> Message:
        choices = [turn.choice(tag(AUDIENCE_TAG, f"category:{c}"), f"form.category_{c}") for c in CATEGORIES]
        return Message(turn.t("broadcast.ask_category"), (*choices, *nav(turn)))


class PreviewStep(BroadcastStepBase):
    """The text exactly as households will see it, who gets it and how many; then send, schedule, change."""

    name = BroadcastStep.PREVIEW

    async def prompt(self, turn: Turn) -> Message:
        row = await current(turn)
        audience = Audience.from_json(row.audience) if row else None
        if row is None or audience is None:
            return gone(turn)
        try:
            counts = await broadcast.preview(turn.conn, turn.settings, row)
        except Refusal:  # the dialogue it named is gone
            counts = broadcast.Preview(0, 0, 0)
        when = vn_datetime(row.scheduled_at, turn.settings.tz) if row.scheduled_at else turn.t("broadcast.now")
        text = turn.t("broadcast.preview", text=row.text, audience=broadcast.audience_label(
            turn.settings, audience, turn.lang), count=counts.recipients, when=when)
        note = broadcast.attachment_note(row, turn.lang)
        if note:
            text += "\n" + turn.t("broadcast.attached", what=note)
        if counts.already or counts.blocked:
            text += "\n" + turn.t("broadcast.preview_excluded", already=counts.already, blocked=counts.blocked)
        change = (turn.choice("edit", "broadcast.edit_text"), turn.choice("audience", "broadcast.change_audience"),
                  turn.choice(CANCEL, "form.cancel"))
        if counts.recipients == 0:
            return Message(text + "\n\n" + turn.t("broadcast.nobody"), change)
        if row.scheduled_at:
            send = (turn.choice("send", "broadcast.confirm_schedule"), turn.choice("now", "broadcast.unschedule"))
        else:
            send = (turn.choice("send", "broadcast.send_now", count=counts.recipients),
                    turn.choice("when", "broadcast.schedule"))
        return Message(text, (*send, *change))

    async def on_choice(self, turn: Turn, value: str) -> None:
        row = await current(turn)
        moves = {"when": BroadcastStep.WHEN, "edit": BroadcastStep.COMPOSE, "audience": BroadcastStep.AUDIENCE}
        if row is None:
            leave(turn)
        elif value in moves:
            turn.goto(moves[value])
        elif value == "now":
            await broadcast.set_time(turn.conn, row.id, None, turn.now)
            turn.touch()
        elif value == "send":
            await self._send(turn, row)

    async def _send(self, turn: Turn, row: BroadcastRow) -> None:
        try:
            sent = await broadcast.confirm(turn.conn, turn.settings, row.id, turn.now)
        except Refusal as exc:
            await refused(turn, exc)
            turn.touch()
            return
        await audit.record(turn.conn, turn, "broadcast", f"#{sent.id}", recipients=sent.recipients)
        if sent.status == "scheduled" and sent.scheduled_at is not None:
            turn.say("broadcast.scheduled", id=sent.id, when=vn_datetime(sent.scheduled_at, turn.settings.tz))
        else:
            turn.say("broadcast.started", id=sent.id, count=sent.recipients)
            turn.emit(OUTBOX_QUEUED)
        turn.emit(BROADCAST_CHANGED)
        leave(turn)


class WhenStep(BroadcastStepBase):
    name = BroadcastStep.WHEN
    free_text = True
    back_to = BroadcastStep.PREVIEW

    async def prompt(self, turn: Turn) -> Message:
        return Message(turn.t("broadcast.ask_when"), (turn.choice(BACK, "form.back"),))

    async def on_text(self, turn: Turn, text: str) -> None:
        row = await current(turn)
        if row is None:
            return
        when = parse_vn_datetime(text, turn.settings.tz)
        if when is None:
            turn.say("broadcast.bad_time", text=shorten(text, 40))
            return
        try:
            await broadcast.set_time(turn.conn, row.id, when, turn.now)
        except Refusal as exc:
            await refused(turn, exc)
            return
        turn.goto(BroadcastStep.PREVIEW)


STEPS: tuple[Step, ...] = (Compose(), AudienceStep(), HamletStep(), CategoryStep(), PreviewStep(), WhenStep())


# ---- commands -------------------------------------------------------------------------------------------------------


async def cmd_broadcast(turn: Turn, args: str) -> None:
    """``/broadcast [text]``: start a new announcement (an unfinished draft of this organizer is dropped)."""
    person = turn.session.person
    old = await current(turn)
    if old is not None:
        await broadcast.cancel(turn.conn, old.id)
    broadcast_id = await broadcast.new_draft(turn.conn, created_by=f"{turn.msg.channel}:{turn.msg.user_id}",
                                             creator_person_id=person.id, now=turn.now)
    if turn.session.step not in STEP_NAMES:
        turn.data[BroadcastKey.RETURN] = turn.session.step or turn.context.home
    turn.data[BroadcastKey.ID] = broadcast_id
    turn.show_prompt = True
    turn.goto(BroadcastStep.COMPOSE)
    if args.strip():
        await take_text(turn, args)


async def cmd_broadcasts(turn: Turn, args: str) -> None:
    rows = await repo.recent(turn.conn, LIST_LIMIT)
    if not rows:
        turn.say("broadcast.none_yet")
        return
    items = [broadcast.summary(row, await broadcast.report(turn.conn, row), turn.settings, turn.lang) for row in rows]
    turn.say_text("\n\n".join([turn.t("broadcast.list_head", count=len(rows)), *items]))


async def cmd_cancelbroadcast(turn: Turn, args: str) -> None:
    number = args.strip().lstrip("#")
    if not number.isdigit():
        turn.say("broadcast.cancel_usage")
        return
    skipped = await broadcast.cancel(turn.conn, int(number))
    turn.say("broadcast.cancelled", id=int(number), count=skipped)
    turn.emit(BROADCAST_CHANGED)


async def cmd_radio(turn: Turn, args: str) -> None:
    """``/radio [broadcast number | dialogue id]``: the loudspeaker script (the only current dialogue by default)."""
    number = args.strip().lstrip("#")
    if number.isdigit():
        row = await broadcast.require(turn.conn, int(number))
        script = radio.broadcast_script(turn.settings, row.text)
    else:
        dialogue, _ = await pick_dialogue(turn, args)
        script = await radio.dialogue_script(turn.conn, turn.settings, dialogue.id)
    turn.say("broadcast.radio_intro")
    turn.say_text(script)


COMMANDS: dict[str, tuple[str | None, Handler]] = {
    "broadcast": ("organizer", cmd_broadcast),
    "broadcasts": ("organizer", cmd_broadcasts),
    "cancelbroadcast": ("organizer", cmd_cancelbroadcast),
    "radio": ("officer", cmd_radio),
}


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)[:80] or "tep"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
