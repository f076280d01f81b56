"""Administrators: the staff list, taking a role away, and the audit log in the chat and from the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.staff import audit, roles
from bot.staff.audit import Actor
from bot.staff.roles import Scope
from storage import Database
from tests.conftest import EXAMPLE_CONFIG
from tests.support import Household

ADMIN = "9001"
Grant = Callable[..., Awaitable[None]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [int(ADMIN)]})})


async def test_staff_lists_admins_organizers_and_officers_with_their_scope(engine: Engine, grant: Grant) -> None:
    await grant("2004", "organizer")
    await grant("2002", "officer", Scope(fields=("lao-dong-viec-lam",), hamlets=("tan-hau",)))
    admin = Household(engine, ADMIN)
    await admin.command("staff")
    assert admin.text.splitlines() == [
        t("roles.staff_header"),
        t("roles.staff_admin", who="telegram:9001"),
        t("roles.staff_line", who="telegram:2004", role="Ban tổ chức", name="—", scope=t("roles.scope_all")),
        t("roles.staff_line", who="telegram:2002", role="cán bộ", name="—",
          scope="Lĩnh vực: Lao động - việc làm · Địa bàn: Ấp Tân Hậu"),
        t("roles.staff_footer", open=0),
    ]


async def test_revoke_takes_the_role_away_and_is_audited(engine: Engine, database: Database, grant: Grant) -> None:
    await grant("2002", "officer")
    admin = Household(engine, ADMIN)
    await admin.command("revoke", "telegram:2002")
    assert admin.text == t("roles.revoked", who="telegram:2002", role="cán bộ")
    async with database.reading() as conn:
        assert await roles.role_of(conn, engine.settings, "telegram", "2002") is None
    await admin.command("revoke", "2002")
    assert admin.text == t("roles.revoke_unknown", who="telegram:2002")
    await admin.command("revoke", "telegram:9001")
    assert admin.text == t("roles.revoke_config_admin", who="telegram:9001")
    await admin.command("revoke", "bạn Sang")
    assert admin.text == t("roles.revoke_usage")
    await admin.command("audit")
    assert "telegram:9001 (admin) · thu quyền · telegram:2002 (role=officer)" in admin.text


async def test_audit_shows_the_last_entries_in_local_time(engine: Engine, database: Database,
                                                          clock: FrozenClock) -> None:
    async with database.transaction() as conn:
        for n in range(1, 6):
            await audit.record(conn, Actor("telegram", "2002", "officer"), "view", f"DT-{n:04d}",
                               now=datetime(2023, 6, 20, 8, 30 + n, tzinfo=UTC))
        await audit.record(conn, audit.cli_actor(), "export", "tan-thuan-tay-2027", format="xlsx",
                           now=datetime(2023, 6, 20, 9, 0, tzinfo=UTC))
    admin = Household(engine, ADMIN)
    await admin.command("audit", "2")
    assert admin.text.splitlines()[1:] == [
        "15:35 20/6/2023 · telegram:2002 (officer) · xem phiếu · DT-0005",
        f"16:00 20/6/2023 · cli:{audit.cli_actor().id} (admin) · xuất báo cáo · tan-thuan-tay-2027 (format=xlsx)",
    ]
    await admin.command("audit", "mười")
    assert admin.text == t("roles.audit_usage")


async def test_the_audit_log_starts_empty(engine: Engine) -> None:
    admin = Household(engine, ADMIN)
    await admin.command("audit")
    assert admin.text == t("roles.audit_empty")


def test_the_audit_cli_prints_the_newest_entries(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        'path = "doithoai.sqlite3"', 'path = "audit.sqlite3"'), encoding="utf-8")

    async def fill() -> None:
        async with Database(tmp_path / "audit.sqlite3") as db, db.transaction() as conn:
            for n in (1, 2, 3):
                await audit.record(conn, Actor("telegram", "2002", "officer"), "answer", f"DT-{n:04d}",
                                   now=datetime(2023, 6, 21, 1, n, tzinfo=UTC), status="answered")

    asyncio.run(fill())
    result = CliRunner().invoke(main, ["audit", "--config", str(config), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [  # local time (UTC+7), as Vietnamese write it, the action in words
        "08:02 21/6/2023 · telegram:2002 (officer) · trả lời · DT-0002 (status=answered)",
        "08:03 21/6/2023 · telegram:2002 (officer) · trả lời · DT-0003 (status=answered)",
    ]
