"""``/link``: one household on two channels (Telegram and Zalo) becomes one person, with one set of questions.

``/link`` on the first channel gives a one-time code (6 characters, 15 minutes); ``/link CODE`` on the other channel
moves that identity to the first person and merges whatever the second person had (questions, registrations) into
it, in the turn's one transaction. The first person must have consented: the code is only given to them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta

from bot.core.clock import iso
from bot.core.events import OUTBOX_QUEUED
from bot.core.turn import Turn
from bot.core.types import Message
from bot.core.vntime import vn_datetime
from bot.dialogues import service as dialogues
from bot.dialogues.service import CODE_ALPHABET
from storage import dialogues as registrations
from storage import linking as repo
from storage.conversations import load_session
from storage.linking import LinkCode
from storage.records import Session

CODE_LENGTH = 6
VALID = timedelta(minutes=15)
MAX_FAILS = 5  # wrong codes per identity within VALID: guessing a code is hopeless
SEAT_RANK = {"registered": 2, "waitlisted": 1, "cancelled": 0}


CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "Console"}


async def cmd_link(turn: Turn, args: str) -> None:
    code = "".join(args.split()).upper()
    if code:
        await redeem(turn, code[:16])
    else:
        await issue(turn)


async def issue(turn: Turn) -> None:
    person = turn.session.person
    if person.consent_at is None:
        turn.say("linking.need_consent")
        return
    code = await _new_code(turn)
    expires = turn.now + VALID
    await repo.save_code(turn.conn, LinkCode(code, person.id, turn.msg.channel, turn.msg.user_id, iso(expires)),
                         iso(turn.now))
    turn.say("linking.code", code=code, minutes=int(VALID.total_seconds() // 60),
             until=vn_datetime(expires, turn.settings.tz))


async def redeem(turn: Turn, code: str) -> None:
    if await repo.failed_attempts(turn.conn, _who(turn), iso(turn.now - VALID)) >= MAX_FAILS:
        turn.say("linking.too_many", minutes=int(VALID.total_seconds() // 60))
        return
    found = await repo.find_code(turn.conn, code, iso(turn.now))
    me = turn.session.person
    if found is None:
        await repo.note_failed_attempt(turn.conn, _who(turn), iso(turn.now))
        turn.say("linking.bad_code", code=code)
    elif found.person_id == me.id:
        turn.say("linking.already_linked")
    elif found.channel == turn.msg.channel:
        turn.say("linking.same_channel", channel=channel_name(found.channel))
    elif await repo.has_identity_on(turn.conn, found.person_id, turn.msg.channel):
        turn.say("linking.other_account", channel=channel_name(turn.msg.channel))
    else:
        await _merge_into(turn, found)


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.capitalize())


async def _merge_into(turn: Turn, found: LinkCode) -> None:
    source = turn.session.person.id
    await _settle_registrations(turn, source, found.person_id)
    await repo.delete_code(turn.conn, found.code)
    await repo.merge_persons(turn.conn, source, found.person_id)
    turn.deleted, turn.show_prompt = True, False  # the speaker's former person is gone: nothing of it is saved
    turn.say("linking.linked", first=channel_name(found.channel), second=channel_name(turn.msg.channel))
    turn.emit(OUTBOX_QUEUED)
    target = await load_session(turn.conn, turn.msg.channel, turn.msg.user_id)
    if target is not None:
        turn.replies.append(await _prompt_of(turn, target))


async def _settle_registrations(turn: Turn, source: int, target: int) -> None:
    """Both persons registered for the same dialogue: keep the better place (a seat over a waitlist place);
    a second seat is given up so that the waitlist moves up."""
    for mine in await registrations.registrations_of_person(turn.conn, source):
        theirs = await registrations.find_registration(turn.conn, mine.dialogue_id, target)
        if theirs is None:
            continue
        if SEAT_RANK[mine.status] > SEAT_RANK[theirs.status]:
            await repo.delete_registration(turn.conn, theirs.id)  # at most a waitlist place: no seat is freed
        else:
            await dialogues.cancel(turn.conn, turn.settings, mine, turn.now)


async def _prompt_of(turn: Turn, session: Session) -> Message:
    """Where the first person's conversation stands, shown on the channel just linked."""
    step = turn.context.step(session.step)
    return replace(await step.prompt(turn.view(session)), version=session.version)


async def _new_code(turn: Turn) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not await repo.code_taken(turn.conn, code):
            return code


def _who(turn: Turn) -> str:
    """The chat identity as a one-way hash: the guess limit is kept per identity, beyond /forget."""
    return hashlib.sha256(f"{turn.msg.channel}:{turn.msg.user_id}".encode()).hexdigest()
