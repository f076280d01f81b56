"""The answer loop in the chat: /outstanding, /answer, /status, /sendanswers and their steps."""

from __future__ import annotations

from bot.answers.chat import COMMANDS, AnswerConfirm, AnswerPick, AnswerStatus
from bot.core.registry import Registry


def register(registry: Registry) -> None:
    registry.add_steps(AnswerPick(), AnswerStatus(), AnswerConfirm())
    registry.add_commands(COMMANDS)
