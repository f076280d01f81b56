"""The dialogue capability's vocabulary in the chat: its step names and its keys in the conversation data."""

from __future__ import annotations

from enum import StrEnum


class DialogueStep(StrEnum):
    SCREEN = "dialogue"
    CODE = "dialogue_code"
    LEAVE = "dialogue_leave"


class DialogueKey(StrEnum):
    RETURN = "dlg_return"              # the step the dialogue screen was opened from
    AWAITING_ROSTER = "awaiting_roster"  # the dialogue whose roster file an organizer is about to send


ATTENDANCE_TAG = "att"  # ``att:<registration id>:yes|no`` under a reminder
