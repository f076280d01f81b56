"""Fixtures for the Zalo OA tests: the fake OA (tests/fake_zalo_oa.py), settings pointing at it, the running channel.

Loaded as a plugin by tests/conftest.py (``pytest_plugins``): every test may ask for these fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import (
    ZALO_OA_APP_SECRET_ENV,
    ZALO_OA_REFRESH_TOKEN_ENV,
    ZALO_OA_SECRET_KEY_ENV,
    Settings,
    ZaloOASection,
)
from bot.core.engine import Engine
from handlers.zalo_oa.channel import ZaloOAChannel
from storage import Database
from tests.fake_zalo_oa import FakeZaloOA, OAChat
from tests.web_server import serving_webhooks

ZNS_REMINDER = "248001"
ZNS_NOTICE = "248002"
OA_CHANNELS = ("telegram", "zalo_oa")


def oa_section(fake: FakeZaloOA, port: int, **overrides: Any) -> ZaloOASection:
    return ZaloOASection.model_validate({
        "app_id": fake.APP_ID, "oa_id": fake.OA_ID, "app_secret": fake.APP_SECRET, "secret_key": fake.SECRET_KEY,
        "refresh_token": fake.FIRST_REFRESH, "api_url": fake.url, "oauth_url": fake.url, "zns_url": fake.url,
        "webhook_path": "zalo-oa",
        "zns": {"reminder": {"template_id": ZNS_REMINDER, "params": {"ten": "name", "cuoc": "title",
                                                                      "thoi_gian": "time", "dia_diem": "place"}},
                "notice": {"template_id": ZNS_NOTICE, "params": {"cuoc": "title", "noi_dung": "change"}}},
        **overrides,
    })


@pytest.fixture
async def fake_oa(clock: FrozenClock) -> AsyncIterator[FakeZaloOA]:
    fake = await FakeZaloOA(clock).start()
    fake.register_template(ZNS_REMINDER, "ten", "cuoc", "thoi_gian", "dia_diem")
    fake.register_template(ZNS_NOTICE, "cuoc", "noi_dung")
    yield fake
    await fake.stop()


@pytest.fixture
def oa_settings(settings: Settings, fake_oa: FakeZaloOA, unused_tcp_port: int,
                monkeypatch: pytest.MonkeyPatch) -> Settings:
    for env in (ZALO_OA_APP_SECRET_ENV, ZALO_OA_SECRET_KEY_ENV, ZALO_OA_REFRESH_TOKEN_ENV):
        monkeypatch.delenv(env, raising=False)
    fake_oa.hook = f"http://127.0.0.1:{unused_tcp_port}/zalo-oa"
    return settings.model_copy(update={"zalo_oa": oa_section(fake_oa, unused_tcp_port)})


@pytest.fixture
def oa_engine(oa_settings: Settings, database: Database, clock: FrozenClock) -> Engine:
    """The engine as ``doithoai run`` builds it: buttons and the share-contact step on the OA."""
    return build_engine(oa_settings, database, clock=clock, button_channels=OA_CHANNELS, contact_channels=OA_CHANNELS)


@pytest.fixture
async def oa_channel(oa_settings: Settings, oa_engine: Engine, fake_oa: FakeZaloOA,
                     clock: FrozenClock) -> AsyncIterator[ZaloOAChannel]:
    channel = ZaloOAChannel(oa_settings, clock=clock)
    await channel.prepare()
    async with serving_webhooks(channel, int(fake_oa.hook.split(":")[2].split("/")[0])):
        await channel.start(oa_engine)
        fake_oa.track(channel)
        yield channel
        await channel.stop()


def oa_chat(fake: FakeZaloOA, user_id: str = "8000000000000000001", name: str = "Nguyễn Thị Bình") -> OAChat:
    return OAChat(fake, fake.follower(user_id, name))


async def rows(database: Database, sql: str, *params: object) -> list[tuple]:
    async with database.reading() as conn, conn.execute(sql, params) as cur:
        return [tuple(row) for row in await cur.fetchall()]
