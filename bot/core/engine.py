"""The engine: one input in, replies out, in one transaction.

A turn reads the speaker's state, applies one input, writes the new state and returns the replies. Nothing is kept
in memory between turns, so a restart, a crash or a change of channel loses nothing. What the input means is the
registry's business: the engine only dispatches (a command, a hook, or the current step).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import partial

from bot.core.choices import match_choice
from bot.core.clock import Clock, iso, system_clock
from bot.core.config import Settings
from bot.core.errors import Refusal
from bot.core.events import Events
from bot.core.registry import Handler, Registry
from bot.core.steps import Step
from bot.core.text import clean, shorten
from bot.core.turn import FileFetcher, Turn, TurnContext
from bot.core.types import Incoming, InputKind, Message
from storage import Connection, Database, DatabaseBusy, people
from storage.conversations import first_delivery, load_session_for_turn, save_state_statement
from storage.records import Session

log = logging.getLogger(__name__)
BUSY_RETRIES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between tries of a turn on a busy database


async def _load(conn: Connection, msg: Incoming, now: str) -> tuple[bool, Session | None]:
    session = await load_session_for_turn(conn, msg.channel, msg.user_id)  # first: it waits for the speaker's turn
    if not await first_delivery(conn, msg.channel, msg.event_id, now):
        return False, None
    return True, session


class Engine:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        registry: Registry,
        *,
        clock: Clock = system_clock,
        events: Events | None = None,
        button_channels: Iterable[str] = ("telegram",),
        contact_channels: Iterable[str] = ("telegram",),
        file_fetchers: Mapping[str, FileFetcher] | None = None,
        bot_username: str = "",
    ) -> None:
        if registry.entry is None or registry.home is None:
            raise ValueError("the registry has no entry step: register the form capability")
        self.settings = settings
        self.db = db
        self.registry = registry
        self.clock = clock
        self.events = events or Events()
        self.button_channels = frozenset(button_channels)
        self.contact_channels = frozenset(contact_channels)
        self.file_fetchers: Mapping[str, FileFetcher] = dict(file_fetchers or {})
        self.bot_username = bot_username
        self._context = TurnContext(
            db=self.db, clock=self.clock, events=self.events, button_channels=self.button_channels,
            contact_channels=self.contact_channels, bot_username=self.bot_username, file_fetchers=self.file_fetchers,
            steps=self.registry.steps, entry=self.registry.entry or "", home=self.registry.home or "",
            authorizer=self.registry.authorizer, idle=self.registry.idle,
        )

    def context(self) -> TurnContext:
        """What a turn's steps may use: built once with the engine (the channels told what they know before)."""
        return self._context

    async def handle(self, msg: Incoming) -> list[Message]:
        """Handle one input. When another process holds the database (a backup, an import) past the busy timeout,
        the turn waits and tries again: a household's message is never dropped for it."""
        for delay in BUSY_RETRIES:
            try:
                return await self._handle_once(msg)
            except DatabaseBusy:
                log.warning("the database is busy in another process: the turn is tried again in %.1f s", delay)
                await asyncio.sleep(delay)
        return await self._handle_once(msg)  # the last try: a database still busy now is a fault to report

    async def _handle_once(self, msg: Incoming) -> list[Message]:
        now = self.clock()
        stamp = iso(now)
        load = partial(_load, msg=msg, now=stamp)
        async with self.db.turn(load) as (conn, (first, loaded), at_commit):
            if not first:
                return []  # this very update was handled before the process was killed: never twice
            session = await self._session(conn, msg, now, loaded)
            turn = Turn(self.settings, conn, session, msg, now, self.context())
            await self._apply(turn)
            if turn.deleted:
                replies = turn.finish(None)
            else:
                if turn.dirty or session.is_new:
                    session.version += 1
                    at_commit.append(save_state_statement(session.person.id, session.step, session.data,
                                                          session.version, stamp))
                step = self._step(session)
                replies = turn.finish(await step.prompt(turn) if turn.show_prompt else None, free_text=step.free_text)
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
        return Session(person=person, channel=msg.channel, chat_id=msg.chat_id, step=str(self.registry.entry),
                       is_new=True)

    def _step(self, session: Session) -> Step:
        step = self.registry.steps.get(session.step)
        if step is None or (session.person.consent_at is None and step.needs_consent):
            session.step = str(self.registry.entry)
            return self.registry.steps[session.step]
        return step

    async def _apply(self, turn: Turn) -> None:
        msg, step = turn.msg, self._step(turn.session)
        if msg.kind is not InputKind.COMMAND and not await self._still_allowed(turn, step):
            return
        if msg.kind is InputKind.COMMAND:
            await self._command(turn)
        elif await self._hooked(turn, step):
            return
        elif turn.session.is_new:
            return  # the first thing someone new sees is the entry step (the welcome and the consent question)
        elif msg.kind is InputKind.CHOICE:
            await self._tap(turn, step)
        elif msg.kind is InputKind.TEXT:
            text = clean(msg.text)
            matched = match_choice(text, (await step.prompt(turn)).choices, loose=not step.free_text)
            if matched is not None and step.free_text and text.isdecimal():
                matched = None  # a number typed at a free-text step is an answer, never the n-th choice
            if matched is not None:
                await step.choose(turn, matched.value)
            else:
                await step.on_text(turn, text)
        elif msg.kind is InputKind.CONTACT:
            await step.on_contact(turn, msg.phone)
        elif msg.kind is InputKind.FOREIGN_CONTACT:
            turn.say("form.contact_not_own")
        elif msg.kind is InputKind.MEDIA:
            await step.on_media(turn)
        elif msg.kind is InputKind.EDITED:
            turn.say("form.edited_ignored")
        else:
            turn.say("form.unsupported")

    async def _still_allowed(self, turn: Turn, step: Step) -> bool:
        """A staff step checks the role at the moment of every input, not when its screen was drawn: a revoked
        organizer's tap on an old "send now" does nothing (and the step is left)."""
        if step.role is None or await self.registry.allows(turn, step.role):
            return True
        turn.refuse("staff.role_gone")  # on Telegram the tapped message stays as it was
        turn.go_home()
        return False

    async def _hooked(self, turn: Turn, step: Step) -> bool:
        """Text or a file that means something whatever the step (a scanned check-in code, a roster file)."""
        msg, registry = turn.msg, self.registry
        if msg.kind is InputKind.TEXT:
            text = clean(msg.text)
            for hook in registry.text_hooks:
                if text.upper().startswith(hook.prefix) and await registry.allows(turn, hook.role):
                    turn.show_prompt = False
                    await self._run(turn, hook.handler, text)
                    return True
        elif msg.kind is InputKind.DOCUMENT:
            for document_hook in registry.document_hooks:
                if await registry.allows(turn, document_hook.role):
                    if step.takes_documents:
                        await step.on_document(turn)
                    else:
                        turn.show_prompt = False
                        await document_hook.handler(turn)
                    return True
        return False

    async def _tap(self, turn: Turn, step: Step) -> None:
        msg = turn.msg
        if msg.version == 0:
            for hook in self.registry.tap_hooks:
                if msg.choice.startswith(hook.prefix):
                    turn.show_prompt = False  # an answer to a message sent on its own, valid at any step
                    await hook.handler(turn, msg.choice)
                    return
        if msg.version != turn.session.version:
            turn.refuse("form.stale_button")
            return
        if msg.choice not in {c.value for c in (await step.prompt(turn)).choices}:
            turn.refuse("form.choose_please")  # forged or outdated data: never trusted, never an error
            return
        turn.tapped = True
        await step.choose(turn, msg.choice)

    async def _command(self, turn: Turn) -> None:
        name = turn.msg.command
        command = self.registry.commands.get(name)
        if command is None:
            turn.say("common.unknown_command", command=shorten(name, 32))
            return
        if command.role is not None:
            turn.show_prompt = False  # staff commands answer and leave the conversation where it was
            if not await self.registry.allows(turn, command.role):
                turn.say("staff.not_available")
                turn.show_prompt = True
                return
        text, changes = clean(turn.msg.text), turn.conn.total_changes
        done = await self._run(turn, command.handler, text)
        acted = done and turn.conn.total_changes != changes  # a usage line or a listing is no act to audit
        if acted and command.role is not None and self.registry.auditor is not None:
            await self.registry.auditor(turn, f"/{name} {text}")

    @staticmethod
    async def _run(turn: Turn, handler: Handler, text: str) -> bool:
        """Run a command or hook; a refusal is said, and is no act (False)."""
        try:
            await handler(turn, text)
        except Refusal as exc:
            turn.say_text(exc.text(turn.lang))
            return False
        return True
