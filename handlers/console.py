"""The terminal channel: chat with the bot as a household, one message per line (works with piped input too)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from bot.core.engine import Engine
from bot.core.types import Incoming, Message
from handlers.text_render import render_text, typed_incoming

CHANNEL = "console"


def parse_line(line: str, user_id: str) -> Incoming:
    """A typed line: ``/command args`` or plain text (a number picks a listed choice)."""
    return typed_incoming(CHANNEL, user_id, user_id, line.rstrip("\n"))


def render(reply: Message, lang: str) -> str:
    return render_text(reply, lang)


async def chat(engine: Engine, lines: AsyncIterator[str], out: TextIO = sys.stdout, *, user_id: str = "local",
               greet: bool = False, prompt: str = "") -> int:
    """Feed each line to the engine and print the replies; returns how many lines were handled."""
    lang = engine.settings.bot.language
    handled = 0

    async def say(line: str) -> None:
        for reply in await engine.handle(parse_line(line, user_id)):
            print(render(reply, lang), end="\n\n", file=out)
        if prompt:
            print(prompt, end="", file=out, flush=True)

    if greet:
        await say("/start")
    async for line in lines:
        handled += 1
        await say(line)
    return handled


async def stdin_lines(stream: TextIO = sys.stdin) -> AsyncIterator[str]:
    """Lines from standard input without blocking the event loop; ``/quit`` or end of input stops."""
    while True:
        line = await asyncio.to_thread(stream.readline)
        if not line or line.strip() in {"/quit", "/exit"}:
            return
        yield line
