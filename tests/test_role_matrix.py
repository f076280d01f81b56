"""Every staff command × every kind of speaker: a household, an officer of another scope, an officer whose scope
covers the submission, an organizer, an administrator.

The commands come from the registry (``build_registry().staff_commands()``) at collection time, so a command
another feature adds later is covered without touching this file. A speaker below the command's rank gets the
polite "not available" and the database does not change by a single row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.cli.runtime import seed_dialogues
from bot.cli.wiring import build_registry
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.staff import roles
from bot.staff.roles import Scope
from storage import Database
from tests.support import Household

ADMIN = 9001
NOT_AVAILABLE = t("staff.not_available")
HERE = Scope(fields=("giam-ngheo",), hamlets=("tan-hau",))
ELSEWHERE = Scope(fields=("lao-dong-viec-lam",), hamlets=("tan-dan",))
# (who, Telegram id, role; None is a household)
SPEAKERS = (
    ("household", "1001", None),
    ("officer of another scope", "2003", "officer"),
    ("officer in scope", "2002", "officer"),
    ("organizer", "2004", "organizer"),
    ("admin", str(ADMIN), "admin"),
)
ARGUMENTS = ("", "DT-0001", "tan-thuan-tay-2027 DT-0001 later", "DT-0001 Xin mời ông/bà lên UBND xã")
Grant = Callable[..., Awaitable[None]]
STAFF_COMMANDS = {name: (command.role, command.handler) for name, command in build_registry().staff_commands().items()}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [ADMIN]})})


async def snapshot(database: Database) -> dict[str, list[tuple]]:
    """Every row of every table."""
    async with database.reading() as conn:
        async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") as cur:
            tables = [row[0] for row in await cur.fetchall()]
        rows = {}
        for table in tables:
            async with conn.execute(f'SELECT * FROM "{table}"') as cur:
                rows[table] = sorted(tuple(row) for row in await cur.fetchall())
    return rows


async def team(engine: Engine, database: Database, settings: Settings, clock: FrozenClock, grant: Grant
               ) -> list[tuple[str, Household, str | None]]:
    """The seed 000 dialogue, one question from a Tân Hậu household (DT-0001, giảm nghèo / y tế), and the staff."""
    await seed_dialogues(database, settings, clock)
    household = Household(engine, "1001")
    await household.identify(hamlet="Tân Hậu")
    await household.ask("Xin hỏi thẻ bảo hiểm y tế cho hộ nghèo làm ở đâu?")
    await grant("2002", "officer", HERE)
    await grant("2003", "officer", ELSEWHERE)
    await grant("2004", "organizer")
    speakers = []
    for who, user_id, role in SPEAKERS:
        speaker = household if user_id == "1001" else Household(engine, user_id)
        if role is not None and role != "admin":
            await speaker.command("dialogues")  # the staff member has written to the bot before
        speakers.append((who, speaker, role))
    return speakers


@pytest.mark.parametrize("command", sorted(STAFF_COMMANDS))
async def test_each_staff_command_refuses_everyone_below_its_rank_unchanged_and_serves_the_rest(
        command: str, engine: Engine, database: Database, settings: Settings, clock: FrozenClock,
        grant: Grant) -> None:
    needed, _ = STAFF_COMMANDS[command]
    speakers = await team(engine, database, settings, clock, grant)
    for who, speaker, role in speakers:
        if roles.allows(role, needed):
            continue
        before = await snapshot(database)
        for args in ARGUMENTS:
            replies = await speaker.command(command, args)
            assert NOT_AVAILABLE in [r.text for r in replies], f"/{command} {args} by {who}"
        assert await snapshot(database) == before, f"/{command} by {who} changed the database"
    for who, speaker, role in speakers:
        if roles.allows(role, needed):
            replies = await speaker.command(command, "")
            assert replies, f"/{command} by {who} got no answer"
            assert NOT_AVAILABLE not in [r.text for r in replies], f"/{command} refused to {who}"


SCOPED = (("answer", "DT-0001"), ("answer", "DT-0001 Xin mời ông/bà lên UBND xã nhận thẻ"),
          ("status", "DT-0001 later"), ("status", "DT-0001 forwarded"))


@pytest.mark.parametrize(("command", "args"), SCOPED)
async def test_an_officer_of_another_scope_cannot_see_or_change_the_submission(
        command: str, args: str, engine: Engine, database: Database, settings: Settings, clock: FrozenClock,
        grant: Grant) -> None:
    speakers = {who: speaker for who, speaker, _ in await team(engine, database, settings, clock, grant)}
    before = await snapshot(database)
    replies = await speakers["officer of another scope"].command(command, args)
    assert [r.text for r in replies] == [t("answers.not_found", code="DT-0001")]
    assert "Xin hỏi thẻ bảo hiểm" not in speakers["officer of another scope"].text
    assert await snapshot(database) == before

    for who in ("officer in scope", "organizer", "admin"):
        await speakers[who].command(command, args)
        assert t("answers.not_found", code="DT-0001") not in speakers[who].text, who
