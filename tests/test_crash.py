"""Crash suite: households fill in the form through the real ``doithoai run`` process, which is killed with SIGKILL
at random moments and restarted, while a wave of reminders goes out.

After it all: every household's question is stored exactly once, every interrupted household resumed at its step
and finished, and no reminder was sent twice; a reminder missing is only ever one the outbox marked 'uncertain'
(in flight at the moment of a kill). ``DOITHOAI_CRASH_HOUSEHOLDS`` and ``DOITHOAI_CRASH_KILLS`` scale it up for a
soak (see the README).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from bot.core.config import TOKEN_ENV, load_settings
from bot.core.i18n import t
from bot.dialogues import service as dialogues
from bot.dialogues.service import DialogueSpec
from storage import database_at, people
from tests.fake_telegram import FakeTelegram, buttons

ROOT = Path(__file__).resolve().parent.parent
# The default keeps the whole suite within a few minutes on 2 cores; the soak in the README runs 1,000 households.
HOUSEHOLDS = int(os.environ.get("DOITHOAI_CRASH_HOUSEHOLDS", "300"))
KILLS = int(os.environ.get("DOITHOAI_CRASH_KILLS", "3"))
REMINDED = 300
FIRST_USER, FIRST_REMINDED = 20_000, 40_000
STEP_WAIT = 15.0  # a real person waits a while before tapping again; shorter makes a retry storm


class WatchedTelegram(FakeTelegram):
    """The fake Bot API, waking a household's driver whenever the bot writes to its chat."""

    def __init__(self) -> None:
        super().__init__()
        self.news: dict[int, asyncio.Event] = {}

    def _store_bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        stored = super()._store_bot_message(params, **content)
        self.news.setdefault(int(params["chat_id"]), asyncio.Event()).set()
        return stored

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        edited = await super()._api_editmessagetext(params)  # a tapped message turned into the next step is news
        self.news.setdefault(int(params["chat_id"]), asyncio.Event()).set()
        return edited

    async def next_news(self, chat_id: int, timeout: float) -> bool:  # noqa: ASYNC109
        event = self.news.setdefault(chat_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        event.clear()
        return True

    async def answer_to(self, chat_id: int, timeout: float, quiet: float = 0.3) -> None:  # noqa: ASYNC109
        """Wait for the bot's reply and then until it has been quiet a moment: a turn may send several messages."""
        if await self.next_news(chat_id, timeout):
            while await self.next_news(chat_id, quiet):
                pass


def name_of(index: int) -> str:
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Võ", "Huỳnh"][index % 6]
    middle = ["Văn", "Thị"][index % 2]
    given = ["An", "Bình", "Cường", "Dung", "Hoa", "Lan", "Minh", "Tám"][index // 6 % 8]
    return f"{family} {middle} {given}"


def question_of(index: int) -> str:
    return f"Hộ số {index} hỏi về thẻ bảo hiểm y tế"


async def drive(fake: WatchedTelegram, index: int, deadline: float) -> None:
    """Act on what the bot shows last, like a person would, until the receipt; retry when nothing comes back."""
    user = fake.user(FIRST_USER + index, "Hộ", str(index))
    replies = {
        "Họ và tên": ("say", name_of(index)),
        "Xin chọn ấp": ("press", ["Ấp Tân Dân", "Ấp Tân Hùng", "Ấp Tân Chủ", "Ấp Tân Hậu"][index % 4]),
        "thuộc loại nào": ("press", t("form.category_poor")),
        "Số điện thoại": ("say", t("form.skip")),
        "muốn gửi gì": ("press", t("form.kind_question")),
        "Thuộc lĩnh vực nào": ("press", "Giảm nghèo"),
        "Lĩnh vực Giảm nghèo": ("press", "Y tế, thẻ bảo hiểm y tế"),
        "Xin gõ nội dung": ("say", question_of(index)),
        "Xin kiểm tra lại phiếu": ("press", t("form.submit")),
        t("form.consent"): ("press", t("form.consent_yes")),
    }
    while time.monotonic() < deadline:
        sent = fake.bot_messages(user.id)
        if any("Mã phiếu: DT-" in (m.get("text") or "") for m in sent):
            return
        last = sent[-1] if sent else None
        action = next((a for key, a in replies.items() if last and key in (last.get("text") or "")), None)
        if action is None or (action[0] == "press" and not buttons(last)):
            fake.send_command(user, "start")  # lost in a crash, or not a prompt: /start resumes at the step
        elif action[0] == "say":
            fake.send_text(user, action[1])
        else:
            choice = next((b for b in buttons(last) if action[1] in b["text"]), None)
            if choice is None:
                fake.send_command(user, "start")
            else:
                fake.tap(user, last, choice["callback_data"])
        await fake.answer_to(user.id, STEP_WAIT)
    tail = [(m.get("text") or "")[:60] for m in fake.bot_messages(user.id)[-3:]]
    raise AssertionError(f"household {index} did not finish; the bot showed it last: {tail}")


def write_config(tmp_path: Path, fake: FakeTelegram) -> Path:
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(tmp_path / "crash.sqlite3")
    data["telegram"].update(base_url=fake.base_url, base_file_url=fake.base_file_url, poll_timeout=1)
    data.setdefault("digest", {})["enabled"] = False
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


async def register_reminded_households(config: Path, fake: FakeTelegram) -> None:
    """Households already registered for a dialogue that starts within the hour: the bot reminds them at start."""
    settings = load_settings(config)
    now = datetime.now(UTC)
    async with database_at(settings.database.target, files=settings.database.files) as db, db.transaction() as conn:
        dialogue = await dialogues.create(conn, settings, DialogueSpec(
            id="hop-bo-sung", title="Đối thoại bổ sung", starts_at=now + timedelta(minutes=50),
            place="Văn phòng ấp Tân Hậu", quotas={"tan-hau": REMINDED}, status="open"), now)
        for j in range(REMINDED):
            user = fake.user(FIRST_REMINDED + j, "Hộ", f"nhắc {j}")
            person = await people.create_person_with_identity(
                conn, channel="telegram", external_id=str(user.id), chat_id=str(user.id), display_name=None,
                language="vi", now=now.isoformat())
            await people.set_consent(conn, person.id, now.isoformat())
            await people.update_profile(conn, person.id, full_name=name_of(j), hamlet_id="tan-hau", category="poor")
            await dialogues.register(conn, dialogue, person.id, "tan-hau", now)


class Bot:
    def __init__(self, config: Path, fake: FakeTelegram) -> None:
        self.args = [sys.executable, "-m", "bot.cli", "run", "--config", str(config)]
        self.env = {**os.environ, TOKEN_ENV: fake.token, "PYTHONPATH": str(ROOT)}
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(*self.args, cwd=ROOT, env=self.env,
                                                            stderr=asyncio.subprocess.DEVNULL)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def keep_killing(bot: Bot, households: asyncio.Future, rng: random.Random) -> None:
    while bot.kills < KILLS and not households.done():
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        if households.done():
            return
        await bot.kill()
        await bot.start()


def outbox_statuses(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM outbox WHERE kind = 'reminder' GROUP BY status"))


async def settle(db_path: Path, timeout: float) -> dict[str, int]:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = outbox_statuses(db_path)
        if not statuses.get("pending") and not statuses.get("sending"):
            return statuses
        await asyncio.sleep(0.2)
    raise AssertionError(f"the outbox did not drain: {outbox_statuses(db_path)}")


async def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    fake = await WatchedTelegram().start()
    config = write_config(tmp_path, fake)
    await register_reminded_households(config, fake)
    bot = Bot(config, fake)
    rng = random.Random(20230620)
    started = time.monotonic()
    try:
        await bot.start()
        deadline = time.monotonic() + float(os.environ.get("DOITHOAI_CRASH_SECONDS", "400"))
        households = asyncio.gather(*(drive(fake, i, deadline) for i in range(HOUSEHOLDS)))
        killer = asyncio.create_task(keep_killing(bot, households, rng))
        await households
        await killer
        statuses = await settle(tmp_path / "crash.sqlite3", 60)
    finally:
        await bot.stop()
        await fake.stop()
    elapsed = time.monotonic() - started

    with sqlite3.connect(tmp_path / "crash.sqlite3") as db:
        stored = [r[0] for r in db.execute("SELECT content FROM submissions")]
        steps = dict(db.execute("SELECT step, COUNT(*) FROM conversations c JOIN identities i"
                                " ON i.person_id = c.person_id WHERE CAST(i.external_id AS INTEGER) < ?"
                                " GROUP BY step", (FIRST_REMINDED,)))
    assert sorted(stored) == sorted(question_of(i) for i in range(HOUSEHOLDS)), "each question exactly once"
    assert steps == {"submitted": HOUSEHOLDS}
    received = [sum(text.startswith("🔔") for text in fake.texts(FIRST_REMINDED + j)) for j in range(REMINDED)]
    duplicates = sum(max(n - 1, 0) for n in received)
    missing = received.count(0)
    uncertain = statuses.get("uncertain", 0)
    print(f"\ncrash suite: {HOUSEHOLDS} households, {bot.kills} SIGKILLs, {elapsed:.1f} s; reminders: "
          f"{REMINDED - missing} delivered, {duplicates} twice, {missing} missing, {uncertain} uncertain")
    assert bot.kills >= 1
    assert duplicates == 0
    assert missing <= uncertain, "a reminder may be missing only if the outbox reports it as in flight"
