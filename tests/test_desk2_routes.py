"""The desk's part 2 over its ASGI app (httpx): Tổng quan, Buổi đối thoại, Điểm danh, Danh sách hộ, Thông báo —
every page × every kind of visitor (signed out, a household's link, an officer of another scope, the officer, an
organizer, an administrator) is allowed or refused and a refusal shows nobody's name; the names of registered
households only within the viewer's scope; forms without the session's CSRF token are refused; each act calls the
same core as the chat (the household hears of it through the outbox) and is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from bot.core.clock import FrozenClock, iso
from bot.core.config import Settings
from bot.core.events import DIALOGUE_CHANGED, Events
from bot.dialogues import service as dialogues
from handlers.web.app import build_app
from handlers.web.desk import Desk
from storage import Database
from storage import dialogues as dialogue_repo
from tests.desk_world import (
    ADMIN,
    HOUSEHOLD,
    NAME,
    OFFICER,
    ORGANIZER,
    OTHER_OFFICER,
    World,
    build_world,
    household,
    sign_in,
    sign_in_link,
    with_admin,
)

SEEDED = "tan-thuan-tay-2027"
FAR_NAME = "Lê Văn Năm"    # a household of tan-dan (desk_world)
VISITORS = {"household": HOUSEHOLD, "other officer": OTHER_OFFICER, "officer": OFFICER, "organizer": ORGANIZER,
            "admin": ADMIN, "signed out": None}
RANKS = {"household": 0, "signed out": 0, "other officer": 1, "officer": 1, "organizer": 2, "admin": 3}
PAGES = {"/overview": 1, "/dialogues": 1, f"/dialogues/{SEEDED}": 1, "/checkin": 1, "/announcements/radio": 1,
         "/roster": 2, "/announcements": 2}
FORMS = {"/dialogues": {"id": "x", "title": "x"}, f"/dialogues/{SEEDED}": {"title": "x"},
         "/checkin": {"code": "ABCDEF"}, "/roster": {"dialogue": SEEDED},
         "/announcements": {"text": "x", "audience": "everyone"}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_admin(settings)


@pytest.fixture
async def world(database: Database, settings: Settings, clock: FrozenClock) -> World:
    """The desk's world, with two households registered in the seeded dialogue (tan-hau and tan-dan)."""
    from bot.cli.runtime import seed_dialogues

    await seed_dialogues(database, settings, clock)
    world = await build_world(database, clock())
    async with database.transaction() as conn:
        dialogue = await dialogues.require(conn, SEEDED)
        await dialogues.register(conn, dialogue, world.household_person, "tan-hau", clock())
        far = await household(conn, "1004", FAR_NAME, "tan-dan", iso(clock()))
        await dialogues.register(conn, dialogue, far, "tan-dan", clock())
    return world


@pytest.fixture
async def desk(settings: Settings, database: Database, clock: FrozenClock) -> Desk:
    return Desk(settings, database, Events(), clock, bot_username="doithoai_test_bot")


@asynccontextmanager
async def visitor(desk: Desk, who: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(desk)), base_url="http://desk") as client:
        user_id = VISITORS[who]
        if user_id is not None:
            await sign_in(client, await sign_in_link(desk.db, desk.settings, user_id, desk.clock()))
        yield client


@pytest.fixture
async def organizer(desk: Desk, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with visitor(desk, "organizer") as client:
        yield client


async def csrf(client: httpx.AsyncClient, path: str = "/overview") -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert found, "a form with its CSRF token"
    return found.group(1)


async def outbox_texts(database: Database, key_start: str) -> list[str]:
    async with database.reading() as conn, conn.execute(
            "SELECT payload FROM outbox WHERE dedupe_key LIKE ?", (f"{key_start}%",)) as cur:
        return [row[0] for row in await cur.fetchall()]


# ---- every page × every visitor -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", list(VISITORS))
async def test_every_new_page_is_allowed_or_refused_by_role_and_never_leaks(who: str, world: World,
                                                                            desk: Desk) -> None:
    async with visitor(desk, who) as client:
        for path, needed in PAGES.items():
            response = await client.get(path)
            if RANKS[who] >= needed:
                assert response.status_code == 200, (who, path, response.status_code)
            else:
                assert response.status_code in (401, 403), (who, path, response.status_code)
                for secret in (NAME, FAR_NAME):
                    assert secret not in response.text, (who, path)
        detail = await client.get(f"/dialogues/{SEEDED}")
    if who in ("officer",):
        assert NAME in detail.text and FAR_NAME not in detail.text, "only the hamlets of the officer's scope"
    if who == "other officer":
        assert FAR_NAME in detail.text and NAME not in detail.text
    if who in ("organizer", "admin"):
        assert NAME in detail.text and FAR_NAME in detail.text
        assert "/promote" in detail.text or "/cancel" in detail.text
    if who in ("officer", "other officer"):
        assert "/registrations/" not in detail.text, "officers read; organizers change"


@pytest.mark.parametrize("who", ["officer", "other officer"])
async def test_officers_cannot_change_a_dialogue_or_send_an_announcement(who: str, world: World, desk: Desk) -> None:
    async with visitor(desk, who) as client:
        token = await csrf(client)
        for path, data in FORMS.items():
            if path == "/checkin":
                continue
            refused = await client.post(path, data={"csrf": token, **data})
            assert refused.status_code == 403, (who, path)
    async with desk.db.reading() as conn:
        assert (await dialogue_repo.get_dialogue(conn, SEEDED)).title != "x"


@pytest.mark.parametrize("path", list(FORMS))
async def test_a_form_without_the_sessions_csrf_token_is_refused(path: str, organizer: httpx.AsyncClient) -> None:
    assert (await organizer.post(path, data=FORMS[path])).status_code == 403
    assert (await organizer.post(path, data={**FORMS[path], "csrf": "forged"})).status_code == 403


async def test_signed_out_forms_change_nothing(world: World, desk: Desk) -> None:
    async with visitor(desk, "signed out") as client:
        for path, data in FORMS.items():
            assert (await client.post(path, data=data)).status_code == 401, path


# ---- what the pages do ----------------------------------------------------------------------------------------------


async def test_an_organizer_creates_a_dialogue_with_quotas_and_opens_it(organizer: httpx.AsyncClient, desk: Desk
                                                                        ) -> None:
    changed: list[object] = []

    async def note(dialogue_id: object) -> None:
        changed.append(dialogue_id)

    desk.events.subscribe(DIALOGUE_CHANGED, note)
    made = await organizer.post("/dialogues", data={
        "csrf": await csrf(organizer), "id": "dt-thu", "title": "Đối thoại thử", "starts_at": "2027-07-01T08:00",
        "place": "Hội trường ấp Tân Hậu", "quota_tan-hau": "2", "quota_tan-dan": "3", "deadline_days": "4",
        "reminders": "2d, 3h", "status": "open"})
    assert made.status_code == 303 and made.headers["location"] == "/dialogues/dt-thu?note=created"
    assert changed == ["dt-thu"], "the reminders are re-planned as after the chat's commands"
    async with desk.db.reading() as conn:
        dialogue = await dialogue_repo.get_dialogue(conn, "dt-thu")
        quotas = await dialogue_repo.quotas(conn, "dt-thu")
    assert dialogue is not None and dialogue.status == "open" and dialogue.reminder_minutes == [2880, 180]
    assert quotas == {"tan-dan": 3, "tan-hau": 2} and dialogue.deadline_days == 4
    assert dialogue.starts_at is not None and dialogue.starts_at.hour == 1   # 08:00 in Hồ Chí Minh City is 01:00 UTC
    page = await organizer.get(made.headers["location"])
    assert "Đã tạo buổi đối thoại" in page.text and "Hội trường ấp Tân Hậu" in page.text


async def test_a_bad_dialogue_form_is_refused_with_its_reason_and_changes_nothing(
        organizer: httpx.AsyncClient, desk: Desk) -> None:
    refused = await organizer.post("/dialogues", data={"csrf": await csrf(organizer), "id": "dt-xau",
                                                      "title": "Thử", "reminders": "sáng mai"})
    assert refused.status_code == 400 and 'id="error"' in refused.text
    async with desk.db.reading() as conn:
        assert await dialogue_repo.get_dialogue(conn, "dt-xau") is None


async def test_moving_the_time_tells_registered_households_once(organizer: httpx.AsyncClient, desk: Desk) -> None:
    page = await organizer.get(f"/dialogues/{SEEDED}")
    assert page.status_code == 200
    form = {"csrf": await csrf(organizer), "title": "Đối thoại năm 2027", "starts_at": "2027-06-21T15:30",
            "place": "Trung tâm Văn hóa - Học tập cộng đồng xã Tân Thuận Tây", "quota_tan-hau": "20",
            "deadline_days": "5", "reminders": "3d, 1d, 2h", "status": "open",
            "contact": "Công chức Văn hóa - Xã hội xã (phụ trách LĐ-TB&XH)"}
    for _ in range(2):
        saved = await organizer.post(f"/dialogues/{SEEDED}", data=form)
        assert saved.status_code == 303, saved.text[:500]
    told = await outbox_texts(desk.db, f"changed:{SEEDED}:time:")
    assert len(told) == 2, "each registered household once, however often it is saved"


async def test_lowering_a_quota_puts_the_next_household_on_the_waitlist_and_move_up_seats_it(
        organizer: httpx.AsyncClient, desk: Desk, clock: FrozenClock) -> None:
    token = await csrf(organizer)
    await organizer.post(f"/dialogues/{SEEDED}", data={"csrf": token, "title": "Đối thoại", "quota_tan-hau": "1",
                                                        "starts_at": "2027-06-20T15:30", "status": "open",
                                                        "place": "Trung tâm", "deadline_days": "5", "reminders": "1d"})
    async with desk.db.transaction() as conn:
        late = await household(conn, "1005", "Phạm Thị Mười", "tan-hau", iso(clock()))
        reg = await dialogues.register(conn, await dialogues.require(conn, SEEDED), late, "tan-hau", clock())
    assert reg.status == "waitlisted"
    page = await organizer.get(f"/dialogues/{SEEDED}")
    assert "Phạm Thị Mười" in page.text and "Đang chờ" in page.text
    moved = await organizer.post(f"/dialogues/{SEEDED}/registrations/{reg.id}/promote", data={"csrf": token})
    assert moved.status_code == 303
    async with desk.db.reading() as conn:
        assert (await dialogue_repo.registration_by_id(conn, reg.id)).status == "registered"
        assert (await dialogue_repo.quotas(conn, SEEDED))["tan-hau"] == 2, "one more seat for the household moved up"
    assert await outbox_texts(desk.db, f"promoted:{reg.id}:")


async def test_cancelling_a_registration_tells_the_household_and_is_audited(
        organizer: httpx.AsyncClient, desk: Desk, world: World) -> None:
    async with desk.db.reading() as conn:
        reg = await dialogue_repo.find_registration(conn, SEEDED, world.household_person)
    done = await organizer.post(f"/dialogues/{SEEDED}/registrations/{reg.id}/cancel",
                                data={"csrf": await csrf(organizer)})
    assert done.status_code == 303
    told = await outbox_texts(desk.db, f"cancelled_by_staff:{reg.id}:")
    assert len(told) == 1 and "hủy đăng ký" in told[0]
    async with desk.db.reading() as conn, conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'registration_cancel' AND target = ?", (reg.code,)) as cur:
        assert (await cur.fetchone())[0] == 1


async def test_the_door_says_who_arrived_then_that_the_code_was_used(world: World, desk: Desk) -> None:
    async with desk.db.reading() as conn:
        reg = await dialogue_repo.find_registration(conn, SEEDED, world.household_person)
    async with visitor(desk, "officer") as client:
        token = await csrf(client, "/checkin")
        first = await client.post("/checkin", data={"csrf": token, "code": f"doithoai-checkin:{reg.code.lower()}"})
        again = await client.post("/checkin", data={"csrf": token, "code": reg.code})
        unknown = await client.post("/checkin", data={"csrf": token, "code": "ZZZZZZ"})
    assert f"✅ {NAME} — " in first.text and "Tân Hậu" in first.text
    assert "Mã đã dùng lúc" in again.text
    assert "Không có mã này" in unknown.text


async def test_a_roster_with_bad_rows_lists_them_with_their_lines(organizer: httpx.AsyncClient, desk: Desk) -> None:
    rows = ("Mã hộ,Họ và tên,Ấp,Phân loại,Số điện thoại\n"
            "H001,Nguyễn Văn Một,Tân Hậu,Hộ nghèo,0912000001\n"
            "H002,,Tân Hậu,Hộ nghèo,0912000002\n"
            "H003,Trần Thị Ba,Ấp Không Có,Hộ nghèo,0912000003\n"
            "H004,Lê Văn Bốn,Tân Dân,Hộ cận nghèo,0912000004\n")
    answer = await organizer.post("/roster", data={"csrf": await csrf(organizer, "/roster"), "dialogue": SEEDED},
                                  files={"file": ("danh-sach.csv", rows.encode(), "text/csv")})
    assert answer.status_code == 200, answer.text[:500]
    assert 'id="bad-rows"' in answer.text
    bad = answer.text.split('id="bad-rows"', 1)[1]
    assert "<td>3</td>" in bad and "<td>4</td>" in bad and "<td>2</td>" not in bad
    found = await organizer.get(f"/roster?dialogue={SEEDED}&q=le van bon")
    assert "Lê Văn Bốn" in found.text and "Nguyễn Văn Một" not in found.text


async def test_an_announcement_is_previewed_with_its_count_then_sent_once(
        organizer: httpx.AsyncClient, desk: Desk) -> None:
    text = "Mời bà con dự buổi đối thoại lúc 15:30 ngày 20/6/2027."
    made = await organizer.post("/announcements", data={"csrf": await csrf(organizer), "text": text,
                                                        "audience": "hamlet", "hamlet_ref": "tan-hau",
                                                        "timing": "now"})
    assert made.status_code == 303
    where = made.headers["location"]
    preview = await organizer.get(where)
    assert 'id="preview-telegram"' in preview.text and 'id="preview-zalo"' in preview.text
    assert "2 hộ sẽ nhận" in preview.text and text in preview.text
    token = await csrf(organizer, where)
    first = await organizer.post(f"{where}/send", data={"csrf": token})
    second = await organizer.post(f"{where}/send", data={"csrf": token})
    assert first.headers["location"].endswith("note=sending")
    assert second.headers["location"].endswith("note=already")
    number = where.rsplit("/", 1)[1]
    assert len(await outbox_texts(desk.db, f"broadcast:{number}:")) == 2
    tally = await organizer.get(f"{where}/tally")
    assert 'id="tally"' in tally.text and "Telegram" in tally.text
    assert 'id="tally-routes"' not in tally.text    # no Zalo OA route yet: no route lines
    async with desk.db.transaction() as conn:         # the sender's outcome for an OA household reached by ZNS
        await conn.execute("UPDATE outbox SET channel = 'zalo_oa', route = 'zns', status = 'sent' WHERE id ="
                           " (SELECT MIN(id) FROM outbox WHERE dedupe_key LIKE ?)", (f"broadcast:{number}:%",))
    routed = await organizer.get(f"{where}/tally")
    assert "Qua Zalo OA: 0 tin tư vấn, 1 tin ZNS, 0 tin chủ động." in routed.text
    radio = await organizer.get(f"/announcements/radio?broadcast={number}")
    assert "mười lăm giờ ba mươi" in radio.text.lower() or "15" not in radio.text


async def test_the_overview_counts_questions_and_seats_of_the_current_dialogue(world: World, desk: Desk) -> None:
    async with visitor(desk, "organizer") as client:
        page = await client.get("/overview")
    assert page.status_code == 200
    assert "Câu hỏi theo lĩnh vực" in page.text and "Chưa trả lời, theo cơ quan" in page.text
    assert "ngày nữa đến buổi đối thoại" in page.text and "1/20" in page.text
