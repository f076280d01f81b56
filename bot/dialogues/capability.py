"""Dialogues in the chat: the household's registration screen and its answers to reminders, the organizers'
commands, check-in by a scanned code, and the roster file an organizer sends."""

from __future__ import annotations

from bot.core.choices import tag
from bot.core.registry import Registry
from bot.dialogues import organizer_chat
from bot.dialogues.registration import (
    DialogueScreen,
    HouseholdCode,
    LeaveConfirm,
    attendance_action,
    cmd_absent,
    cmd_attend,
)
from bot.dialogues.roster_chat import roster_upload
from bot.dialogues.service import CHECKIN_PREFIX
from bot.dialogues.states import ATTENDANCE_TAG


def register(registry: Registry) -> None:
    registry.add_steps(DialogueScreen(), HouseholdCode(), LeaveConfirm())
    registry.add_commands(organizer_chat.COMMANDS)
    registry.add_commands({"attend": (None, cmd_attend), "absent": (None, cmd_absent)})
    registry.on_text_prefix(CHECKIN_PREFIX, "officer", organizer_chat.cmd_checkin)
    registry.on_document("organizer", roster_upload)
    registry.on_tap(tag(ATTENDANCE_TAG, ""), attendance_action)
