"""Where features plug into the engine: their conversation steps and their staff commands.

A feature adds one import and one entry to each tuple below; nothing else in the engine changes.
"""

from __future__ import annotations

from bot import digest_chat, staff
from bot.conversation import Step
from bot.form import FORM_STEPS
from bot.registration import REGISTRATION_STEPS

STEPS: tuple[Step, ...] = (
    *FORM_STEPS,
    *REGISTRATION_STEPS,
)

STAFF_COMMANDS: dict[str, tuple[str, staff.Handler]] = {
    **staff.COMMANDS,
    **digest_chat.COMMANDS,
}
