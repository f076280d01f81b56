"""Shared fixtures: settings from config.example.toml on a temporary database, the engine, the fake Telegram."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import (
    TOKEN_ENV,
    WEB_PORT_ENV,
    WEBHOOK_SECRET_ENV,
    DatabaseSection,
    Settings,
    TelegramSection,
    load_settings,
)
from bot.core.engine import Engine
from bot.core.i18n import t
from handlers.base import engine_options
from handlers.telegram.channel import TelegramChannel
from storage import Database, database_at
from storage.conversations import load_session
from storage.records import Session
from tests.fake_telegram import Chat, FakeTelegram, PathStep

ROOT = Path(__file__).resolve().parent.parent
# the Zalo OA fixtures (fake_oa, oa_settings, oa_engine, oa_channel); a throwaway PostgreSQL (pg_url)
pytest_plugins = ["tests.zalo_oa_support", "tests.pg_server"]
EXAMPLE_CONFIG = ROOT / "config.example.toml"


# ---- core -------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def any_free_web_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``doithoai run`` a test starts serves its web desk on a port the system picks: never a clash."""
    monkeypatch.setenv(WEB_PORT_ENV, "0")


@pytest.fixture(autouse=True)
def temp_folder_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run in-process (``doithoai export``...) points ``tempfile`` at its private folder for the rest of
    the process, as it should in production; a test must not leave that to the next one."""
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets ``BOTH_BACKENDS = True`` runs each of its tests on SQLite and on PostgreSQL (a throwaway
    server: tests/pg_server.py), through the ``settings`` and ``database`` fixtures."""
    both = getattr(metafunc.module, "BOTH_BACKENDS", False) or os.environ.get("DOITHOAI_TEST_ALL_BACKENDS") == "1"
    if both and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Settings:
    """config.example.toml (the seed 000 commune) with its database in tmp_path, or, for a module on both backends,
    on a fresh PostgreSQL database (its files folder still tmp_path)."""
    example = load_settings(EXAMPLE_CONFIG)
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else ""
    return example.model_copy(update={"database": DatabaseSection(path=str(tmp_path / "doithoai.sqlite3"), url=url)})


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2023, 6, 15, 2, 0, tzinfo=UTC))


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = await database_at(settings.database.target, files=settings.database.files).open()
    yield db
    await db.close()


@pytest.fixture
def engine(settings: Settings, database: Database, clock: FrozenClock, request: pytest.FixtureRequest) -> Engine:
    """The engine; in a test that runs the Telegram bot, built from what its prepared channel learned (the bot's
    username, its file fetcher), as ``doithoai run`` does."""
    if "telegram_channel" not in request.fixturenames:
        return build_engine(settings, database, clock=clock)
    channel: TelegramChannel = request.getfixturevalue("telegram_channel")
    return build_engine(settings, database, clock=clock, **engine_options([(channel.name, channel.facts)]))


# ---- Telegram ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1 (see tests/fake_telegram.py)."""
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


@pytest.fixture
def telegram_settings(settings: Settings, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``settings`` pointed at the fake server; the environment cannot override the token or the secret."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(WEBHOOK_SECRET_ENV, raising=False)
    telegram = TelegramSection(token=fake_telegram.token, base_url=fake_telegram.base_url,
                               base_file_url=fake_telegram.base_file_url, poll_timeout=5)
    return settings.model_copy(update={"telegram": telegram})


@pytest.fixture
async def telegram_channel(telegram_settings: Settings) -> AsyncIterator[TelegramChannel]:
    """The Telegram channel on the fake server, prepared (it knows the bot's username), not started."""
    channel = TelegramChannel(telegram_settings)
    await channel.prepare()
    yield channel
    await channel.stop()


@pytest.fixture
async def telegram_app(telegram_channel: TelegramChannel, engine: Engine, fake_telegram: FakeTelegram
                       ) -> AsyncIterator[Application]:
    """The real python-telegram-bot Application, polling the fake server; the fake tracks handled updates."""
    await telegram_channel.start(engine)
    fake_telegram.track(telegram_channel.app)
    yield telegram_channel.app
    await telegram_channel.stop()


# The request form walked the common way: (Chat method, argument, the step it leads to).
FORM_PATH: tuple[PathStep, ...] = (
    ("command", "start", "consent"),
    ("press", t("form.consent_yes"), "name"),
    ("say", "Nguyễn Thị Bình", "hamlet"),
    ("press", "Ấp Tân Hùng", "category"),
    ("press", t("form.category_poor"), "phone"),
    ("share_contact", "0912345678", "q_kind"),
    ("press", t("form.kind_question"), "q_field"),
    ("press", "Giảm nghèo", "q_topic"),
    ("press", "Vay vốn hộ nghèo, hộ cận nghèo", "q_content"),
    ("say", "Xin hỏi thủ tục vay vốn hộ nghèo cần giấy tờ gì?", "review"),
)


@pytest.fixture
def form_path() -> tuple[PathStep, ...]:
    """The common way through the request form, for ``Chat.reach`` (``fake_telegram.chat_with(user, form_path)``)."""
    return FORM_PATH


@pytest.fixture
def household(fake_telegram: FakeTelegram, telegram_app: Application) -> Chat:
    """Bình, a household writing to the running bot for the first time; ``await household.reach("review")``
    walks her through the form to that step."""
    return fake_telegram.chat_with(fake_telegram.user(1001, "Bình", "Nguyễn Thị"), FORM_PATH)


@pytest.fixture
def session_of(database: Database) -> Callable[[Chat], Awaitable[Session]]:
    """``await session_of(chat)``: the household's conversation state as stored."""

    async def load(chat: Chat) -> Session:
        async with database.reading() as conn:
            session = await load_session(conn, "telegram", str(chat.user.id))
        assert session is not None, f"no conversation for user {chat.user.id}"
        return session

    return load


# ---- Zalo -------------------------------------------------------------------------------------------------------

from bot.core.config import ZALO_TOKEN_ENV, ZALO_WEBHOOK_SECRET_ENV, ZaloSection  # noqa: E402
from handlers.zalo.channel import ZaloChannel  # noqa: E402
from tests.fake_zalo import FakeZalo  # noqa: E402


@pytest.fixture
async def fake_zalo() -> AsyncIterator[FakeZalo]:
    """A fake Zalo Bot API server on 127.0.0.1 (see tests/fake_zalo.py)."""
    fake = await FakeZalo().start()
    yield fake
    await fake.stop()


@pytest.fixture
def zalo_settings(settings: Settings, fake_zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``settings`` with Zalo pointed at the fake server (polling, 1 s polls); the environment cannot override."""
    monkeypatch.delenv(ZALO_TOKEN_ENV, raising=False)
    monkeypatch.delenv(ZALO_WEBHOOK_SECRET_ENV, raising=False)
    zalo = ZaloSection(token=fake_zalo.token, base_url=fake_zalo.base_url, poll_timeout=1)
    return settings.model_copy(update={"zalo": zalo})


@pytest.fixture
async def zalo_channel(zalo_settings: Settings, engine: Engine, fake_zalo: FakeZalo) -> AsyncIterator[ZaloChannel]:
    """The Zalo channel polling the fake server (back-off of 50 ms for the tests); the fake tracks it."""
    channel = ZaloChannel(zalo_settings, retry_base=0.05, retry_max=0.2)
    await channel.prepare()
    await channel.start(engine)
    fake_zalo.track(channel)
    yield channel
    await channel.stop()


# ---- staff roles ------------------------------------------------------------------------------------------------

from bot.staff import roles  # noqa: E402
from bot.staff.roles import EVERYTHING, Scope  # noqa: E402


@pytest.fixture
def grant(database: Database) -> Callable[..., Awaitable[None]]:
    """``await grant("2002", "officer", Scope(hamlets=("tan-hau",)))``: give a Telegram user a staff role."""

    async def give(user_id: str, role: str, scope: Scope = EVERYTHING) -> None:
        async with database.transaction() as conn:
            await roles.grant(conn, "telegram", user_id, role, None, "2023-06-01T00:00:00+00:00", scope)

    return give
