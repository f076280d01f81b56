"""Every privileged act is in the audit log, from the chat and from the command line (actor ``cli:<os user>``),
readable in local time, and keeps no one's words."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.core.engine import Engine
from storage import Database
from tests.support import Household
from tests.test_answers import ANSWER, binh  # noqa: F401 - a household with a question (DT-0001)
from tests.test_report_cli import config  # noqa: F401 - the report tests' commune and its config

ADMIN_CHAT = "9001"


def cli(config_path: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    return result.output


async def test_command_line_acts_are_audited_as_the_os_user(config: Path) -> None:  # noqa: F811
    def run_all() -> str:
        cli(config, "staff", "grant", "--id", "2002", "--role", "officer")
        cli(config, "staff", "revoke", "--id", "2002")
        cli(config, "export", "--dialogue", "tan-thuan-tay-2027", "--format", "csv")
        cli(config, "purge", "--before", "1/1/2020", "--yes")
        return cli(config, "audit")

    log = await asyncio.to_thread(run_all)
    me = f"cli:{getpass.getuser()} (admin)"
    for action in ("cấp quyền · telegram:2002", "thu quyền · telegram:2002", "· tan-thuan-tay-2027",
                   "xóa dữ liệu cũ · 1/1/2020"):
        assert any(me in line and action in line for line in log.splitlines()), action


async def test_a_staff_command_in_the_chat_is_audited_without_the_words_typed(
        binh: Household, engine: Engine, database: Database, grant) -> None:  # noqa: F811
    await grant("2002", "officer")
    officer = Household(engine, "2002")
    await officer.command("answer", f"DT-0001 {ANSWER}")
    async with database.reading() as conn:
        rows = await conn.execute_fetchall("SELECT actor_id, action, target, detail FROM audit_log")
    assert ("2002", "command", "/answer DT-0001") in [tuple(r[:3]) for r in rows]
    assert all(ANSWER not in " ".join(str(v) for v in row) for row in rows), "no one's words in the audit log"
