"""``/whoami``: the id the IT officer writes into ``bot.admins``, told to whoever asks, and nothing else."""

from __future__ import annotations

from bot.core.engine import Engine
from tests.support import Household


async def test_a_new_person_learns_their_telegram_id_before_anything_else(engine: Engine) -> None:
    replies = await Household(engine, "424242").command("whoami")

    assert replies[0].text.startswith("Mã của ông/bà trên Telegram: 424242")
    assert "người dân (không phải cán bộ)" in replies[0].text


async def test_an_officer_sees_their_role(engine: Engine, grant) -> None:
    await grant("2002", "officer")

    replies = await Household(engine, "2002").command("whoami")

    assert "Vai trò: cán bộ." in replies[0].text
