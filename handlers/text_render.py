"""Choices as a numbered list, for channels without buttons (the terminal, Zalo).

The household answers with the number or the words of an option; ``bot.choices.match_choice`` reads it back.
"""

from __future__ import annotations

from bot.types import Reply


def numbered(reply: Reply, hint: str = "") -> str:
    if not reply.choices:
        return reply.text
    lines = [reply.text, ""]
    lines += [f"{i}. {choice.label}" for i, choice in enumerate(reply.choices, start=1)]
    if hint:
        lines += ["", hint]
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Split on line boundaries (then on spaces, then hard) so that every part fits the platform's limit."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            head, line = line[:cut], line[cut:].lstrip()
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts
