"""``doithoai broadcast``, ``doithoai broadcasts`` and ``doithoai radio`` on a copy of the example config."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.core.config import load_settings
from bot.core.i18n import t
from bot.dialogues import service as dialogues
from storage import Database
from tests.test_broadcast_support import add_households, outbox_rows

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2023, 6, 15, 2, 0, tzinfo=UTC)
TEXT = "Kính mời bà con dự đối thoại lúc 15:30 ngày 20/6/2027 tại Trung tâm VHHTCĐ xã Tân Thuận Tây."


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The example config with its database in tmp_path: the dialogue and eight households of Tân Hậu/Tân Dân."""
    path = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.example.toml", path)
    settings = load_settings(path)

    async def fill() -> None:
        async with Database(settings.database.path) as db:
            async with db.transaction() as conn:
                await dialogues.seed_from_config(conn, settings, NOW)
            await add_households(db, NOW, 101, 5, hamlet="tan-hau")
            await add_households(db, NOW, 201, 3, hamlet="tan-dan")

    asyncio.run(fill())
    return path


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(config)])
    return result.exit_code, result.output


def queued(config: Path, broadcast_id: int = 1) -> list[str]:
    async def read() -> list[str]:
        async with Database(load_settings(config).database.path) as db:
            return [chat for chat, _, _ in await outbox_rows(db, f"broadcast:{broadcast_id}")]

    return asyncio.run(read())


def test_a_dry_run_shows_the_preview_and_sends_nothing(config: Path) -> None:
    code, output = run(config, "broadcast", "--text", TEXT, "--audience", "hamlet:tan-hau", "--dry-run")
    assert code == 0
    assert f"━━━━━━━━━━\n{TEXT}\n━━━━━━━━━━" in output
    assert "🏘 Hộ ở Ấp Tân Hậu — 5 hộ" in output and t("broadcast.cli_dry_run") in output
    assert queued(config) == []


def test_a_broadcast_is_queued_for_the_bot_and_listed(config: Path) -> None:
    code, output = run(config, "broadcast", "--text", TEXT, "--audience", "everyone")
    assert code == 0
    assert t("broadcast.cli_queued_no_bot", id=1, count=8) in output  # no bot runs here: it says so
    assert queued(config) == ["101", "102", "103", "104", "105", "201", "202", "203"]
    code, output = run(config, "broadcasts")
    assert code == 0 and output.startswith("#1 — đang gửi") and "0/8 đã nhận" in output
    code, output = run(config, "broadcasts", "--id", "1")
    assert "⏳ Đang chờ gửi: 8" in output


def test_a_broadcast_can_wait_for_a_time(config: Path) -> None:
    code, output = run(config, "broadcast", "--text", TEXT, "--audience", "hamlet:tan-dan", "--at",
                       "7:30 18/6/2027")
    assert code == 0
    assert t("broadcast.cli_scheduled", id=1, when="7 giờ 30 phút, thứ Sáu, ngày 18/6/2027") in output
    assert queued(config) == []


@pytest.mark.parametrize(("args", "message"), [
    (("--text", "  ", "--audience", "everyone"), t("broadcast.empty")),
    (("--text", "x" * 5000, "--audience", "everyone"), t("broadcast.too_long", length="5.000", limit="4.096")),
    (("--text", TEXT, "--audience", "hamlet:tan-binh"), t("dialogues.unknown_hamlet", hamlet="tan-binh")),
    (("--text", TEXT, "--audience", "everybody"), t("broadcast.bad_audience", text="everybody")),
    (("--text", TEXT, "--audience", "category:other"), t("broadcast.nobody")),
    (("--text", TEXT, "--audience", "everyone", "--at", "mai"), t("broadcast.cli_bad_time", text="mai")),
    (("--text", TEXT, "--audience", "everyone", "--at", "7:30 1/1/2020"), t("broadcast.time_in_past")),
], ids=["empty", "too long", "unknown hamlet", "unknown audience", "nobody", "unreadable time", "past time"])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_queued(config: Path, args: tuple[str, ...],
                                                                      message: str) -> None:
    code, output = run(config, "broadcast", *args)
    assert code == 1
    assert message in output
    assert queued(config) == []


def test_a_photo_over_ten_megabytes_is_refused(config: Path, tmp_path: Path) -> None:
    photo = tmp_path / "thong-bao.jpg"
    with photo.open("wb") as file:
        file.truncate(12 * 1024 * 1024)
    code, output = run(config, "broadcast", "--text", TEXT, "--audience", "everyone", "--photo", str(photo))
    assert code == 1
    assert t("broadcast.file_too_large", name="thong-bao.jpg", size="12,0", limit="10,0") in output
    assert queued(config) == []


def test_radio_writes_the_dialogue_as_it_is_read_aloud(config: Path, tmp_path: Path) -> None:
    code, output = run(config, "radio", "--dialogue", "tan-thuan-tay-2027")
    assert code == 0
    assert output.startswith("Loa phát thanh xã Tân Thuận Tây xin thông báo.")
    assert "mười lăm giờ ba mươi phút, chủ nhật, ngày hai mươi tháng sáu năm hai nghìn không trăm hai mươi bảy" \
        in output
    target = tmp_path / "loa.txt"
    run(config, "broadcast", "--text", TEXT, "--audience", "everyone")
    code, output = run(config, "radio", "--broadcast", "1", "--output", str(target))
    assert code == 0 and "lúc mười lăm giờ ba mươi phút ngày hai mươi tháng sáu" in target.read_text("utf-8")
    assert run(config, "radio")[0] == 2
    assert run(config, "radio", "--dialogue", "khong-co")[0] == 1
