"""Where features plug into the engine: their conversation steps and their staff commands.

A feature adds one import and one entry to each tuple below; nothing else in the engine changes.
"""

from __future__ import annotations

from bot import answer_chat, broadcast_chat, digest_chat, report_chat, roles_chat, staff
from bot.conversation import Step
from bot.form import FORM_STEPS
from bot.registration import REGISTRATION_STEPS

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
