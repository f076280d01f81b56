"""Text-only channels (the terminal, Zalo): replies as plain text, choices as a numbered list, typed lines read back.

Both channels render a reply with ``render_text`` and read a typed line with ``typed_incoming``, so a household sees
the same screens in the terminal and on Zalo. The household answers with the number or the words of an option;
``bot.choices.match_choice`` reads it back (accents and case optional). A step that waits for typed words (a name,
a question) numbers nothing: "1" could be the answer itself. Its ways out are given as words ("gõ HỦY để dừng").
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.i18n import t
from bot.core.steps import BACK, CANCEL
from bot.core.types import Choice, Incoming, InputKind, Message

WAY_OUT = {BACK: "form.type_back", CANCEL: "form.type_cancel"}


def terminal_qr(qr: str) -> str:
    """The terminal shows the QR code's text as it is (an officer's scanner reads the same text)."""
    return f"[QR] {qr}"


def numbered(reply: Message, hint: str = "") -> str:
    if not reply.choices:
        return reply.text
    lines = [reply.text, ""]
    lines += [f"{i}. {choice.label}" for i, choice in enumerate(reply.choices, start=1)]
    if hint:
        lines += ["", hint]
    return "\n".join(lines)


def typed_word(choice: Choice) -> str:
    """The word to type for a choice: its label without the emoji, in capitals ("✖️ Hủy" → "HỦY")."""
    words = [word for word in choice.label.split() if any(ch.isalnum() for ch in word)]
    return " ".join(words).upper()


def words_to_type(reply: Message, lang: str) -> str:
    """A free-text step's choices as words: "Gõ QUAY LẠI để về bước trước." "Gõ HỦY để dừng." """
    lines = [t(WAY_OUT.get(c.value, "form.type_choice"), lang, word=typed_word(c)) for c in reply.choices]
    return "\n".join([reply.text, "", *lines]) if lines else reply.text


def render_text(reply: Message, lang: str, qr_line: Callable[[str], str] = terminal_qr) -> str:
    """The reply's text, its choices numbered with the "type the number" hint (or, at a step waiting for typed
    words, the words to type), and the QR code as a line of text."""
    if reply.free_text:
        text = words_to_type(reply, lang)
    else:
        text = numbered(reply, t("form.choose_number", lang) if reply.choices else "")
    return f"{text}\n{qr_line(reply.qr)}" if reply.qr else text


def typed_incoming(channel: str, user_id: str, chat_id: str, text: str, display_name: str = "") -> Incoming:
    """A typed line: ``/command args`` (``/Start@bot`` works too) or plain text (a number picks a listed choice)."""
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
        head, _, args = stripped[1:].partition(" ")
        return Incoming(channel, user_id, chat_id, InputKind.COMMAND, text=args.strip(),
                        command=head.split("@", 1)[0].lower(), display_name=display_name)
    return Incoming(channel, user_id, chat_id, InputKind.TEXT, text=text, display_name=display_name)
