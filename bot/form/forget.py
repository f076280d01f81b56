"""The household's right to be forgotten: ``/forget`` asks once, then deletes everything kept about it."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from bot.core.steps import Step
from bot.core.turn import Turn
from bot.core.types import Message
from bot.datacare import media
from bot.dialogues.registration import ACTIVE, current, release_seats
from bot.form.states import FormKey, FormStep
from bot.reports.cleanup import remove_every_export
from bot.reports.report_files import exports_dir
from storage import people


class ForgetConfirm(Step):
    name = FormStep.FORGET_CONFIRM
    needs_consent = False  # a household may withdraw its consent here

    async def prompt(self, turn: Turn) -> Message:
        choices = (turn.choice("yes", "common.forget_yes"), turn.choice("no", "common.forget_no"))
        _, reg = await current(turn)
        seat = reg is not None and reg.status in ACTIVE
        text = turn.t("common.forget_ask") + ("\n" + turn.t("common.forget_seat") if seat else "")
        return Message(text, choices)

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "yes":
            await release_seats(turn)
            count = await people.forget_person(turn.conn, turn.session.person.id)
            turn.deleted = True
            turn.show_prompt = False
            turn.say("common.forget_done", count=count)
            turn.after_commit.append(partial(_remove_exports, exports_dir(turn.settings)))
            turn.after_commit.append(partial(_remove_media, turn))
            return
        turn.say("common.forget_kept")
        turn.resume(turn.data.pop(FormKey.BEFORE_FORGET, None))


async def _remove_exports(folder: Path) -> list[Message]:
    """Reports and digests already made may name the household: they go (off the event loop)."""
    await asyncio.to_thread(remove_every_export, folder)
    return []


async def _remove_media(turn: Turn) -> list[Message]:
    """The images and voice notes kept as files go with the person."""
    await media.sweep(turn.context.db, turn.now)
    return []


async def cmd_forget(turn: Turn, args: str) -> None:
    session = turn.session
    if session.person.consent_at is None:
        await people.forget_person(turn.conn, session.person.id)
        turn.deleted, turn.show_prompt = True, False
        turn.say("common.nothing_to_forget")
        return
    if session.step != FormStep.FORGET_CONFIRM:
        turn.data[FormKey.BEFORE_FORGET] = session.step
    turn.goto(FormStep.FORGET_CONFIRM)
