"""Staff are not treated as households: their first /start and /help are theirs, without the consent question."""

from __future__ import annotations

import pytest

from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from tests.support import Household

ADMIN = "9001"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [int(ADMIN)]})})


async def test_an_administrators_first_start_is_a_staff_welcome_not_the_consent_question(engine: Engine) -> None:
    admin = Household(engine, ADMIN)
    replies = await admin.command("start")
    texts = [r.text for r in replies]
    assert texts[0].startswith("Chào") and "cán bộ của buổi đối thoại" in texts[0]
    assert texts[1] == t("common.help_staff")
    assert not any(t("form.consent") in text for text in texts)


async def test_a_granted_officers_help_lists_the_staff_commands_first(engine: Engine, grant) -> None:
    await grant("2002", "officer")
    officer = Household(engine, "2002")
    replies = await officer.command("help")
    assert replies[0].text == t("common.help_staff")
    assert not any(t("form.consent") in r.text for r in replies)


async def test_a_household_still_starts_with_the_consent_question(engine: Engine) -> None:
    replies = await Household(engine, "1001").command("start")
    assert any(t("form.consent") in r.text for r in replies)
