"""The desk's part 2 in a real browser (Debian's headless Chromium and chromedriver, as tests/test_desk_browser.py):
an organizer signs in from the bot and lands on Tổng quan; creates a dialogue with quotas and opens it; a household
registers through the fake Telegram server and appears in the list; the quota is lowered and the next household is
shown on the waitlist; a household is checked in at the door by its code (on a phone-sized window); a roster with
bad rows is uploaded and the bad rows are listed; an announcement is composed, previewed, sent, and its tally
reaches "delivered" while the fake Telegram server receives it once per household. ``DOITHOAI_SCREENSHOTS=docs/desk``
saves the pages (08-… onwards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.clock import FrozenClock, iso
from bot.core.config import Settings
from bot.core.i18n import t
from bot.staff import roles
from handlers.web.desk import Desk
from storage import Database
from storage import dialogues as dialogue_repo
from tests.desk_world import ORGANIZER
from tests.fake_telegram import Chat, FakeTelegram
from tests.test_desk_browser import LINK, desk_server, driver, in_browser, settings, shot  # noqa: F401

DIALOGUE = "dt-thu-nghiem"
NOTICE = "Mời bà con ấp Tân Dân dự buổi đối thoại lúc 8 giờ ngày 1/7/2023 tại hội trường ấp."


async def sign_up(fake: FakeTelegram, user_id: int, first: str, last: str) -> Chat:
    """A household of Tân Dân fills in the form and registers, as in tests/test_dialogue_telegram.py."""
    chat = fake.chat_with(fake.user(user_id, first, last))
    await chat.command("start")
    await chat.press(t("form.consent_yes"))
    await chat.say(f"{last} {first}")
    await chat.press("Ấp Tân Dân")
    await chat.press(t("form.category_poor"))
    await chat.say(t("form.skip"))
    await chat.press(t("form.kind_question"))
    await chat.press("Giảm nghèo")
    await chat.press("Y tế, thẻ bảo hiểm y tế")
    await chat.say("Khi nào hộ tôi được cấp thẻ bảo hiểm y tế?")
    await chat.press(t("form.submit"))
    await chat.press(t("registration.menu_register"))
    await chat.press(t("registration.register"))
    return chat


async def test_an_organizer_runs_a_dialogue_from_the_desk(
        driver: Any, desk_server: Desk, fake_telegram: FakeTelegram, database: Database,  # noqa: F811
        clock: FrozenClock, telegram_settings: Settings, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    async with database.transaction() as conn:   # only the organizer: the households come through Telegram
        await roles.grant(conn, "telegram", ORGANIZER, "organizer", "Phạm Thanh Sang", iso(clock()))
    base = telegram_settings.web.base_url()
    organizer = fake_telegram.chat_with(fake_telegram.user(int(ORGANIZER), "Sang", "Phạm Thanh"))
    link = LINK.search((await organizer.command("web"))[-1]["text"])
    assert link
    wait = WebDriverWait(driver, 15)

    def create_and_open() -> str:
        driver.set_window_size(1280, 1000)
        driver.get(link.group(0))
        driver.find_element(By.ID, "signin-button").click()
        wait.until(lambda d: d.current_url.endswith("/overview"))
        shot(driver, "08-overview")
        driver.get(f"{base}/dialogues")
        form = wait.until(ready.presence_of_element_located((By.ID, "new-dialogue")))
        form.find_element(By.NAME, "id").send_keys(DIALOGUE)
        form.find_element(By.NAME, "title").send_keys("Đối thoại thử ở ấp Tân Dân")
        driver.execute_script("document.querySelector('#new-dialogue [name=starts_at]').value = '2023-07-01T08:00'")
        form.find_element(By.NAME, "place").send_keys("Hội trường ấp Tân Dân")
        form.find_element(By.ID, "quota-tan-dan").send_keys("2")
        form.find_element(By.CSS_SELECTOR, "select[name=status] option[value=open]").click()
        shot(driver, "09-dialogue-new")
        driver.find_element(By.ID, "create-dialogue").click()
        return wait.until(ready.presence_of_element_located((By.ID, "dialogue-status"))).text

    assert "nhận đăng ký" in (await in_browser(create_and_open)).lower() or "mở" in (await in_browser(
        lambda: driver.find_element(By.ID, "dialogue-status").text)).lower()

    await sign_up(fake_telegram, 5101, "Bình", "Nguyễn Văn")

    def registered_appears() -> str:
        driver.get(f"{base}/dialogues/{DIALOGUE}")
        return wait.until(ready.presence_of_element_located((By.ID, "registrations"))).text

    assert "Nguyễn Văn Bình" in await in_browser(registered_appears)

    def lower_the_quota() -> str:
        box = driver.find_element(By.CSS_SELECTOR, "#edit-dialogue #quota-tan-dan")
        box.clear()
        box.send_keys("1")
        driver.find_element(By.ID, "save-dialogue").click()
        return wait.until(ready.presence_of_element_located((By.ID, "note"))).text

    assert "Đã lưu" in await in_browser(lower_the_quota)
    await sign_up(fake_telegram, 5102, "Tư", "Trần Văn")

    def waitlist_shown() -> str:
        driver.get(f"{base}/dialogues/{DIALOGUE}")
        text = wait.until(ready.presence_of_element_located((By.ID, "registrations"))).text
        shot(driver, "10-dialogue-waitlist")
        return text

    listed = await in_browser(waitlist_shown)
    assert "Trần Văn Tư" in listed and "Đang chờ" in listed
    async with database.reading() as conn:
        seated = [r for r in await dialogue_repo.registrations(conn, DIALOGUE, "registered")]
    assert len(seated) == 1

    def check_in_at_the_door() -> str:
        driver.set_window_size(412, 915)   # a phone at the door
        driver.get(f"{base}/checkin?dialogue={DIALOGUE}")
        box = wait.until(ready.presence_of_element_located((By.ID, "code")))
        box.send_keys(seated[0].code)
        driver.find_element(By.ID, "checkin-button").click()
        result = wait.until(ready.presence_of_element_located((By.ID, "door-result"))).text
        shot(driver, "11-checkin-phone")
        driver.set_window_size(1280, 1000)
        return result

    assert "✅ Nguyễn Văn Bình — Ấp Tân Dân" in await in_browser(check_in_at_the_door)

    roster = tmp_path / "danh-sach-ho.csv"
    roster.write_text("Mã hộ,Họ và tên,Ấp,Phân loại,Số điện thoại\n"
                      "H001,Nguyễn Văn Bình,Tân Dân,Hộ nghèo,0912000001\n"
                      "H002,,Tân Dân,Hộ nghèo,0912000002\n"
                      "H003,Trần Thị Ba,Ấp Không Có,Hộ nghèo,0912000003\n", encoding="utf-8")

    def upload_the_roster() -> str:
        driver.get(f"{base}/roster?dialogue={DIALOGUE}")
        wait.until(ready.presence_of_element_located((By.ID, "roster-file"))).send_keys(str(roster))
        driver.find_element(By.ID, "roster-upload").click()
        bad = wait.until(ready.presence_of_element_located((By.ID, "bad-rows"))).text
        shot(driver, "12-roster-bad-rows")
        return bad

    bad_rows = await in_browser(upload_the_roster)
    assert "3" in bad_rows and "4" in bad_rows

    def compose_preview_send() -> str:
        driver.get(f"{base}/announcements")
        wait.until(ready.presence_of_element_located((By.ID, "a-text"))).send_keys(NOTICE)
        driver.find_element(By.CSS_SELECTOR, "input[name=audience][value=hamlet]").click()
        driver.find_element(By.CSS_SELECTOR, "select[name=hamlet_ref] option[value=tan-dan]").click()
        driver.find_element(By.ID, "preview-button").click()
        count = wait.until(ready.presence_of_element_located((By.ID, "a-count"))).text
        shot(driver, "13-announcement-preview")
        driver.find_element(By.ID, "send-button").click()
        return count

    count_text = await in_browser(compose_preview_send)
    households = int(count_text.split()[0])
    assert households == 2, count_text

    def tally_reaches_delivered() -> str:
        wait.until(lambda d: d.find_element(By.ID, "tally-delivered").text == str(households))
        shot(driver, "14-announcement-tally")
        return driver.find_element(By.ID, "tally").text

    await in_browser(tally_reaches_delivered)
    received = [call for call in fake_telegram.calls_to("sendMessage") if NOTICE in str(call.params.get("text"))]
    assert len(received) == households
    assert len({call.params["chat_id"] for call in received}) == households, "each household once"
