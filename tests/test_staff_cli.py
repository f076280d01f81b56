"""``doithoai staff``: ids are checked for their channel, an officer can be given a scope, and it all reads in the
configured language."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.config import Settings
from bot.staff import roles
from bot.staff.roles import Scope
from storage import Database
from tests.conftest import EXAMPLE_CONFIG


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def staff(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["staff", *args, "--config", str(config)])
    return result.exit_code, result.output


async def staff_async(config: Path, *args: str) -> tuple[int, str]:
    """The command in a thread of its own: it runs its own event loop, as from a shell."""
    return await asyncio.to_thread(staff, config, *args)


async def role_of(database: Database, settings: Settings, external_id: str) -> tuple[str | None, Scope]:
    async with database.reading() as conn:
        return (await roles.role_of(conn, settings, "telegram", external_id),
                await roles.scope_of(conn, settings, "telegram", external_id))


@pytest.mark.parametrize("bad", ["abc", "12 34", "-5", "0123", "1" * 16])
async def test_a_telegram_id_that_is_not_a_number_is_refused(config: Path, database: Database, bad: str) -> None:
    code, output = await staff_async(config, "grant", "--id", bad, "--role", "organizer")
    assert code == 2 and "không phải mã người dùng Telegram" in output
    async with database.reading() as conn:
        assert await conn.execute_fetchall("SELECT * FROM staff") == []


async def test_an_officer_is_granted_with_a_scope_named_as_in_the_chat(config: Path, database: Database,
                                                                      settings: Settings) -> None:
    code, output = await staff_async(config, "grant", "--id", "2002", "--role", "officer", "--scope",
                         "linh-vuc=giam-ngheo ap=Tân Hậu, Tân Dân")
    assert code == 0, output
    assert "Đã cấp vai trò cán bộ cho telegram:2002" in output and "Ấp Tân Hậu" in output
    role, scope = await role_of(database, settings, "2002")
    assert role == "officer" and scope == Scope(fields=("giam-ngheo",), hamlets=("tan-hau", "tan-dan"))


async def test_an_unknown_hamlet_in_the_scope_lists_the_valid_ones_and_grants_nothing(
        config: Path, database: Database, settings: Settings) -> None:
    code, output = await staff_async(config, "grant", "--id", "2002", "--role", "officer", "--scope", "ap=Sao Hỏa")
    assert code == 2 and 'Không có ấp "Sao Hỏa"' in output and "tan-hau (Ấp Tân Hậu)" in output
    assert (await role_of(database, settings, "2002"))[0] is None


def test_the_staff_list_names_roles_in_vietnamese(config: Path) -> None:
    staff(config, "grant", "--id", "2002", "--role", "officer", "--name", "Trần Thị Hoa")
    code, output = staff(config, "list")
    assert code == 0
    assert "telegram:2002\tcán bộ\tTrần Thị Hoa" in output and "officer" not in output
