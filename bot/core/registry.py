"""Where features plug into the engine: their conversation steps and their staff commands.

A feature adds one import and one entry to each tuple below; nothing else in the engine changes.
"""

from __future__ import annotations

from bot.answers import chat as answer_chat
from bot.broadcast import chat as broadcast_chat
from bot.core.turn import Step
from bot.dialogues import organizer_chat as staff
from bot.dialogues.registration import REGISTRATION_STEPS
from bot.digest import chat as digest_chat
from bot.form.steps import FORM_STEPS
from bot.reports import chat as report_chat
from bot.staff import roles_chat

STEPS: tuple[Step, ...] = (
    *FORM_STEPS,
    *REGISTRATION_STEPS,
    *answer_chat.ANSWER_STEPS,
    *broadcast_chat.BROADCAST_STEPS,
)

STAFF_COMMANDS: dict[str, tuple[str, staff.Handler]] = {
    **staff.COMMANDS,
    **roles_chat.COMMANDS,
    **answer_chat.COMMANDS,
    **digest_chat.COMMANDS,
    **report_chat.COMMANDS,
    **broadcast_chat.BROADCAST_COMMANDS,
}
