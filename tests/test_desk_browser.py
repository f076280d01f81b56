"""The web desk in a real browser: Debian's headless Chromium driven by Selenium through Debian's chromedriver
(both paths given: nothing downloads a browser or a driver).

An officer sends /web to the bot (the fake Telegram server) and opens the link it sends; filters the questions,
answers one and the answer reaches the household at the fake Telegram server through the outbox; merges two groups
and sees them as one in the next report; enters a paper form. Without Chromium this skips with its reason on a
developer's machine and fails in CI (``CI=true``). ``DOITHOAI_SCREENSHOTS=<folder>`` saves the main pages there
(``docs/desk/`` holds the ones in the README).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.core.clock import FrozenClock
from bot.core.config import Settings, WebSection
from bot.core.engine import Engine
from bot.outbox.sender import Sender
from bot.reports.report_data import load_report
from bot.reports.working_papers import groups_by_topic
from handlers.telegram.channel import TelegramChannel
from handlers.web.app import build_app
from handlers.web.desk import Desk
from handlers.web.server import WebServer
from storage import Database
from tests.desk_world import CARD, HOUSEHOLD, JOB, OFFICER, ROOF_TOO, World, build_world, with_admin
from tests.fake_telegram import FakeTelegram

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/signin/[A-Za-z0-9_-]+")
ANSWER = "Có. Xin mời ông bà lên UBND xã nộp đơn đề nghị hỗ trợ sửa nhà."


def browser_missing() -> str | None:
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not (Path(tool).exists() or shutil.which(Path(tool).name)):
            return f"{tool} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    missing = browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=vi",
                 "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    browser.implicitly_wait(0)
    yield browser
    browser.quit()


@pytest.fixture
def settings(settings: Settings, unused_tcp_port: int) -> Settings:
    web = WebSection(listen="127.0.0.1", port=unused_tcp_port, public_url=f"http://127.0.0.1:{unused_tcp_port}")
    return with_admin(settings).model_copy(update={"web": web})


@pytest.fixture
async def desk_server(telegram_settings: Settings, database: Database, clock: FrozenClock, engine: Engine,
                      telegram_app: Application, telegram_channel: TelegramChannel) -> AsyncIterator[Desk]:
    """The bot as ``doithoai run`` has it: Telegram, the outbox sender, the one web server."""
    from bot.cli.runtime import seed_dialogues

    await seed_dialogues(database, telegram_settings, clock)
    desk = Desk(telegram_settings, database, engine.events, clock, file_fetchers=engine.file_fetchers,
                bot_username=engine.bot_username)
    sender = Sender(database, {"telegram": telegram_channel.transport}, clock=clock, events=desk.events,
                    limits={"telegram": telegram_channel.limits})
    server = WebServer(build_app(desk), "127.0.0.1", telegram_settings.web.port)
    await server.start()
    await sender.start()
    yield desk
    await sender.stop()
    await server.stop()


async def in_browser(work: Callable[[], Any]) -> Any:
    """Selenium blocks: it runs in a thread while the event loop serves the pages."""
    return await asyncio.to_thread(work)


def shot(browser: Any, name: str) -> None:
    folder = os.environ.get("DOITHOAI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


async def test_an_officer_signs_in_from_the_bot_answers_groups_and_enters_a_paper_form(
        driver: Any, desk_server: Desk, fake_telegram: FakeTelegram, database: Database, clock: FrozenClock,
        telegram_settings: Settings) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    world: World = await build_world(database, clock())
    household_user = fake_telegram.user(int(HOUSEHOLD))
    officer = fake_telegram.chat_with(fake_telegram.user(int(OFFICER), "Hậu", "Trần Văn"))
    replies = await officer.command("web")
    link = LINK.search(replies[-1]["text"])
    assert link, replies[-1]["text"]
    wait = WebDriverWait(driver, 10)
    roof = world.subs["roof"]

    def sign_in_and_filter() -> str:
        driver.get(link.group(0))
        shot(driver, "01-sign-in")
        driver.find_element(By.ID, "signin-button").click()
        wait.until(lambda d: d.current_url.endswith("/overview"))   # Tổng quan, the first page
        driver.get(f"{telegram_settings.web.base_url()}/questions")
        wait.until(ready.presence_of_element_located((By.ID, "results")))
        shot(driver, "02-questions")
        search = driver.find_element(By.ID, "q")
        search.send_keys("nha bi dot")  # typed without accents
        driver.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
        wait.until(lambda d: ROOF_TOO in d.find_element(By.ID, "results").text
                   and CARD not in d.find_element(By.ID, "results").text)
        shot(driver, "03-questions-filtered")
        return driver.find_element(By.ID, "results").text

    found = await in_browser(sign_in_and_filter)
    assert ROOF_TOO in found and JOB not in found

    def answer_one() -> str:
        driver.get(f"{telegram_settings.web.base_url()}/questions/{roof.id}")
        box = wait.until(ready.presence_of_element_located((By.ID, "answer")))
        box.send_keys(ANSWER)
        shot(driver, "04-submission")
        driver.find_element(By.ID, "send-answer").click()
        return wait.until(ready.presence_of_element_located((By.ID, "note"))).text

    note = await in_browser(answer_one)
    assert "gửi cho hộ dân" in note
    arrived = await fake_telegram.wait_for(
        lambda: [text for text in fake_telegram.texts(household_user.id) if ANSWER in text], what="the answer")
    assert roof.code in arrived[0]

    def merge_two_groups() -> str:
        driver.get(f"{telegram_settings.web.base_url()}/questions?view=groups&topic=nha-o")
        boxes = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=group]"))
        for box in boxes[:2]:
            box.click()
        shot(driver, "05-groups")
        driver.find_element(By.ID, "merge-button").click()
        return wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "p.notice"))).text

    assert "gộp" in (await in_browser(merge_two_groups)).lower()
    report = await load_report(database, telegram_settings, telegram_settings.dialogues[0].id, now=clock())
    members = [sorted(item.submission_id for item in g.items) for gs in groups_by_topic(report).values() for g in gs]
    assert sorted([roof.id, world.subs["roof2"].id, world.subs["card"].id]) in members

    def enter_paper_form() -> str:
        driver.set_window_size(412, 915)   # a phone in a hamlet
        driver.get(f"{telegram_settings.web.base_url()}/paper")
        form = wait.until(ready.presence_of_element_located((By.ID, "paper-form")))
        form.find_element(By.NAME, "full_name").send_keys("Võ Văn Sáu")
        Select(form.find_element(By.NAME, "hamlet_id")).select_by_value("tan-hau")
        Select(form.find_element(By.NAME, "category")).select_by_value("near_poor")
        Select(form.find_element(By.NAME, "kind")).select_by_value("petition")
        Select(form.find_element(By.NAME, "topic_id")).select_by_value("nha-o")
        form.find_element(By.NAME, "content").send_keys("Xin hỗ trợ lợp lại mái nhà trước mùa mưa")
        shot(driver, "06-paper-form-phone")
        driver.find_element(By.ID, "paper-save").click()
        text = wait.until(ready.presence_of_element_located((By.ID, "note"))).text
        shot(driver, "07-paper-entered-phone")
        driver.set_window_size(1280, 900)
        return text

    assert "phiếu giấy" in (await in_browser(enter_paper_form)).lower()
    async with database.reading() as conn, conn.execute(
            "SELECT COUNT(*) FROM submissions s JOIN paper_entries p ON p.submission_id = s.id"
            " WHERE s.content = 'Xin hỗ trợ lợp lại mái nhà trước mùa mưa'") as cur:
        assert (await cur.fetchone())[0] == 1
