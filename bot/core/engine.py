"""The engine: one input in, replies out, in one transaction.

A turn reads the speaker's state, applies one input, writes the new state and returns the replies. Nothing is kept
in memory between turns, so a restart, a crash or a change of channel loses nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from functools import partial

from bot.core.choices import match_choice
from bot.core.clock import Clock, iso, system_clock
from bot.core.config import Settings
from bot.core.events import Events
from bot.core.registry import STEPS
from bot.core.text import clean, shorten
from bot.core.turn import Step, Turn
from bot.core.types import Incoming, InputKind, Message
from bot.core.vntime import vn_date
from bot.dialogues import organizer_chat as staff
from bot.dialogues.registration import attendance_action, attendance_command, open_dialogue_screen
from bot.dialogues.roster_chat import roster_upload
from bot.dialogues.service import CHECKIN_PREFIX
from bot.form.steps import (
    PROFILE_STEPS,
    QUESTION_STEPS,
    cancel_current,
    go_menu,
    profile_complete,
    resume_where_left,
    start_question,
)
from bot.staff import invites, linking
from storage import Connection, Database, people, submissions
from storage.conversations import first_delivery, load_session_sync, save_state_statement
from storage.records import Session

FileFetcher = Callable[[str], Awaitable[bytes]]


def _load(conn: sqlite3.Connection, msg: Incoming, now: str) -> tuple[bool, Session | None]:
    if not first_delivery(conn, msg.channel, msg.event_id, now):
        return False, None
    return True, load_session_sync(conn, msg.channel, msg.user_id)
DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Engine:
    bot_username: str = ""  # the bot's own username, set by the Telegram adapter: invitation links need it

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock = system_clock,
        button_channels: Iterable[str] = ("telegram",),
        contact_channels: Iterable[str] = ("telegram",),
        steps: Iterable[Step] | None = None,
        events: Events | None = None,
        file_fetchers: dict[str, FileFetcher] | None = None,
        bot_username: str = "",
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.button_channels = frozenset(button_channels)
        self.contact_channels = frozenset(contact_channels)
        self.steps: dict[str, Step] = {step.name: step for step in (steps if steps is not None else STEPS)}
        self.events = events or Events()
        self.file_fetchers: dict[str, FileFetcher] = dict(file_fetchers or {})
        self.bot_username = bot_username

    @staticmethod
    def iso_now(turn: Turn) -> str:
        return iso(turn.now)

    async def handle(self, msg: Incoming) -> list[Message]:
        now = self.clock()
        load = partial(_load, msg=msg, now=iso(now))
        async with self.db.turn(load) as (conn, (first, loaded), at_commit):
            if not first:
                return []  # this very update was handled before the process was killed: never twice
            session = await self._session(conn, msg, now, loaded)
            turn = Turn(engine=self, conn=conn, session=session, msg=msg, now=now)
            await self._apply(turn)
            if turn.deleted:
                replies = turn.finish(None)
            else:
                if turn.dirty or session.is_new:
                    session.version += 1
                    at_commit.append(save_state_statement(session.person.id, session.step, session.data,
                                                          session.version, iso(now)))
                replies = turn.finish(await self._step(session).prompt(turn) if turn.show_prompt else None)
        for work in turn.after_commit:  # slow work (a file download, an import) never holds the database lock
            replies.extend(await work())
        for name, args in turn.events:
            await self.events.emit(name, *args)
        return replies

    async def note_blocked(self, channel: str, chat_id: str) -> None:
        """The platform said this chat blocked the bot: stop sending to it until it writes again."""
        async with self.db.transaction() as conn:
            await people.mark_blocked(conn, channel, chat_id, iso(self.clock()))

    async def _session(self, conn: Connection, msg: Incoming, now: datetime,
                       session: Session | None) -> Session:
        if session is not None:
            if session.blocked or session.chat_id != msg.chat_id:  # they wrote again: the chat works
                await people.mark_chat_reachable(conn, msg.channel, msg.user_id, msg.chat_id)
            return session
        person = await people.create_person_with_identity(
            conn, channel=msg.channel, external_id=msg.user_id, chat_id=msg.chat_id,
            display_name=msg.display_name or None, language=self.settings.bot.language, now=iso(now),
        )
        return Session(person=person, channel=msg.channel, chat_id=msg.chat_id, step="consent", is_new=True)

    def _step(self, session: Session) -> Step:
        step = self.steps.get(session.step)
        if step is None or (session.person.consent_at is None and not step.staff
                            and session.step != "forget_confirm"):
            session.step = "consent"
            return self.steps["consent"]
        return step

    async def _apply(self, turn: Turn) -> None:
        msg, step = turn.msg, self._step(turn.session)
        if msg.kind is InputKind.COMMAND:
            await self._command(turn)
        elif await self._staff_input(turn):
            return
        elif turn.session.is_new:
            return  # the first thing a household sees is the welcome and the consent question
        elif msg.kind is InputKind.CHOICE:
            await self._tap(turn, step)
        elif msg.kind is InputKind.TEXT:
            text = clean(msg.text)
            matched = match_choice(text, (await step.prompt(turn)).choices, loose=not step.free_text)
            if matched is not None:
                await step.on_choice(turn, matched.value)
            else:
                await step.on_text(turn, text)
        elif msg.kind is InputKind.CONTACT:
            await step.on_contact(turn, msg.phone)
        elif msg.kind is InputKind.MEDIA:
            await step.on_media(turn)
        elif msg.kind is InputKind.EDITED:
            turn.say("form.edited_ignored")
        else:
            turn.say("form.unsupported")

    async def _staff_input(self, turn: Turn) -> bool:
        """A scanned check-in QR text or a roster file from staff; households never reach these."""
        msg = turn.msg
        if msg.kind is InputKind.TEXT and clean(msg.text).upper().startswith(CHECKIN_PREFIX):
            if await staff.is_staff(turn):
                await staff.run_command(turn, "checkin", clean(msg.text))
                return True
        elif msg.kind is InputKind.DOCUMENT and await staff.is_staff(turn, "organizer"):
            step = self._step(turn.session)
            if type(step).on_document is not Step.on_document:
                await step.on_document(turn)  # the step expects a file (an announcement's attachment)
                return True
            turn.show_prompt = False
            await roster_upload(turn)
            return True
        return False

    async def _tap(self, turn: Turn, step: Step) -> None:
        msg = turn.msg
        if msg.version == 0 and msg.choice.startswith("att:"):
            turn.show_prompt = False  # an answer to a reminder, valid whatever step the household is at
            await attendance_action(turn, msg.choice)
            return
        if msg.version != turn.session.version:
            turn.refuse("form.stale_button")
            return
        if msg.choice not in {c.value for c in (await step.prompt(turn)).choices}:
            turn.refuse("form.choose_please")  # forged or outdated data: never trusted, never an error
            return
        await step.on_choice(turn, msg.choice)

    async def _command(self, turn: Turn) -> None:
        command = turn.msg.command
        if await staff.run_command(turn, command, clean(turn.msg.text)):
            return
        handler = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "cancel": self._cmd_cancel,
            "myquestions": self.show_my_questions,
            "forget": self._cmd_forget,
            "menu": self._cmd_menu,
            "dialogue": self._cmd_dialogue,
            "mydata": self._cmd_mydata,
            "attend": lambda turn: attendance_command(turn, True),
            "absent": lambda turn: attendance_command(turn, False),
            "link": linking.cmd_link,
        }.get(command)
        if handler is None:
            turn.say("common.unknown_command", command=shorten(command, 32))
            return
        await handler(turn)

    async def _cmd_start(self, turn: Turn) -> None:
        payload = clean(turn.msg.text)
        if await invites.redeem(turn, payload):
            return
        unit = self.settings.unit(payload) if DEEP_LINK.match(payload or "-") else None
        session = turn.session
        if unit is not None and unit.is_leaf and not session.person.hamlet_id:
            turn.data["hamlet_preset"] = unit.id
            turn.touch()
        if session.is_new or session.person.consent_at is None:
            return
        if session.step in PROFILE_STEPS or session.step in QUESTION_STEPS:
            turn.say("form.resume")
        elif session.step == "idle" or not profile_complete(turn):
            resume_where_left(turn)
        else:
            turn.say("form.welcome_back", name=session.person.full_name)
            start_question(turn)

    async def _cmd_help(self, turn: Turn) -> None:
        turn.say("common.help")
        if await staff.is_staff(turn):
            turn.say("common.help_staff")

    async def _cmd_cancel(self, turn: Turn) -> None:
        if turn.session.person.consent_at is not None:
            cancel_current(turn)

    async def _cmd_menu(self, turn: Turn) -> None:
        if profile_complete(turn):
            go_menu(turn)

    async def _cmd_mydata(self, turn: Turn) -> None:
        """Everything kept about the household, in plain words (its right of access), then its questions."""
        person = turn.session.person
        if person.consent_at is None:
            turn.say("common.need_consent")
            return
        hamlet = self.settings.unit(person.hamlet_id or "")
        turn.say("common.mydata", name=person.full_name or "—", hamlet=hamlet.name if hamlet else "—",
                 category=turn.t(f"form.category_{person.category}") if person.category else "—",
                 phone=person.phone or "—",
                 consent=vn_date(datetime.fromisoformat(person.consent_at), self.settings.tz))
        await self.show_my_questions(turn)

    async def _cmd_dialogue(self, turn: Turn) -> None:
        if profile_complete(turn):
            open_dialogue_screen(turn, "menu")

    async def _cmd_forget(self, turn: Turn) -> None:
        session = turn.session
        if session.person.consent_at is None:
            await people.forget_person(turn.conn, session.person.id)
            turn.deleted, turn.show_prompt = True, False
            turn.say("common.nothing_to_forget")
            return
        if session.step != "forget_confirm":
            turn.data["before_forget"] = session.step
        turn.goto("forget_confirm")

    async def show_my_questions(self, turn: Turn) -> None:
        person = turn.session.person
        if person.consent_at is None:
            turn.say("common.need_consent")
            return
        items = await submissions.list_for_person(turn.conn, person.id)
        if not items:
            turn.say("common.mine_empty")
            return
        total = await submissions.count_for_person(turn.conn, person.id)
        lines = [turn.t("common.mine_header", count=total)]
        for sub in items:
            found = self.settings.topic(sub.topic_id)
            content = sub.content or (turn.t(f"form.media_{sub.media_kind}") if sub.media_kind else "")
            lines.append(turn.t(
                "common.mine_item", code=sub.code,
                date=vn_date(datetime.fromisoformat(sub.created_at), self.settings.tz),
                kind=turn.t(f"form.kind_{sub.kind}"), topic=found[1].name if found else sub.topic_id,
                content=shorten(content, 160), status=turn.t(f"common.status_{sub.status}"),
            ))
            if sub.answer:
                lines.append(turn.t("common.mine_answer", answer=sub.answer))
        turn.say_text("\n\n".join(lines))
