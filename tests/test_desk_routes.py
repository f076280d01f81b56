"""The web desk over its ASGI app (httpx): every page × every kind of visitor — a household's link, an officer of
another scope, the officer whose scope holds the submission, an organizer, an administrator, someone signed out —
is allowed or refused, and a refusal shows nothing of anyone's question. Forms without the session's CSRF token
are refused; a sign-in link works once, for ten minutes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.events import Events
from bot.core.i18n import t
from bot.reports.report_data import load_report
from bot.reports.working_papers import groups_by_topic
from handlers.base import WebhookRoute
from handlers.web.app import build_app
from handlers.web.desk import Desk
from storage import Database
from tests.desk_world import (
    ADMIN,
    CARD,
    HOUSEHOLD,
    JOB,
    NAME,
    OFFICER,
    ORGANIZER,
    OTHER_OFFICER,
    ROOF,
    World,
    build_world,
    sign_in,
    sign_in_link,
    with_admin,
)

VISITORS = {"household": HOUSEHOLD, "other officer": OTHER_OFFICER, "officer": OFFICER, "organizer": ORGANIZER,
            "admin": ADMIN, "signed out": None}
RANKS = {"household": 0, "signed out": 0, "other officer": 1, "officer": 1, "organizer": 2, "admin": 3}
PAGES = {"/questions": 1, "/questions?view=groups": 1, "/paper": 1, "/reports": 2, "/staff": 2, "/audit": 3}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_admin(settings)


@pytest.fixture
async def world(database: Database, settings: Settings, clock: FrozenClock) -> World:
    from bot.cli.runtime import seed_dialogues

    await seed_dialogues(database, settings, clock)
    return await build_world(database, clock())


@pytest.fixture
async def events() -> Events:
    return Events()


async def echo(headers: object, body: bytes) -> tuple[int, bytes]:
    return 200, body


@pytest.fixture
async def app_client(settings: Settings, database: Database, clock: FrozenClock, events: Events
                     ) -> AsyncIterator[tuple[Desk, httpx.AsyncClient]]:
    desk = Desk(settings, database, events, clock, bot_username="doithoai_test_bot")
    app = build_app(desk, [WebhookRoute("hook", echo, max_body=1000)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as client:
        yield desk, client


@asynccontextmanager
async def visitor(desk: Desk, who: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of ``who``, signed in through a /web link (a household's link is refused)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(desk)), base_url="http://desk") as client:
        user_id = VISITORS[who]
        if user_id is not None:
            answer = await sign_in(client, await sign_in_link(desk.db, desk.settings, user_id, desk.clock()))
            assert answer.status_code == (403 if who == "household" else 303)
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "a form with its CSRF token"
    return found.group(1)


# ---- every page × every visitor -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", list(VISITORS))
async def test_every_page_is_allowed_or_refused_by_role_and_never_leaks(
        who: str, world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, who) as client:
        for path, needed in PAGES.items():
            response = await client.get(path)
            if RANKS[who] >= needed:
                assert response.status_code == 200, (who, path)
            else:
                assert response.status_code in (401, 403), (who, path, response.status_code)
                for secret in (ROOF, CARD, JOB, NAME):
                    assert secret not in response.text, (who, path)
        roof = await client.get(f"/questions/{world.subs['roof'].id}")
        job = await client.get(f"/questions/{world.subs['job'].id}")
        lists = await client.get("/questions")
    allowed_roof = who in ("officer", "organizer", "admin")
    allowed_job = who in ("other officer", "organizer", "admin")
    assert (roof.status_code == 200) is allowed_roof, who
    assert (ROOF in roof.text) is allowed_roof
    assert (job.status_code == 200) is allowed_job, who
    assert (JOB in job.text) is allowed_job
    if who == "officer":
        assert "0912 345 678" in roof.text or "0912345678" in roof.text, "the phone within scope"
        assert ROOF in lists.text and JOB not in lists.text
    if who == "other officer":
        assert roof.status_code == 404 and NAME not in roof.text and "0912" not in roof.text
        assert JOB in lists.text and ROOF not in lists.text and CARD not in lists.text


async def test_an_unknown_submission_and_one_outside_the_scope_look_the_same(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "other officer") as client:
        outside = await client.get(f"/questions/{world.subs['roof'].id}")
        missing = await client.get("/questions/999999")
    assert outside.status_code == missing.status_code == 404
    assert outside.text.replace(f"/questions/{world.subs['roof'].id}", "/questions/999999") == missing.text


async def test_a_household_link_opens_nothing(world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "household") as client:
        assert "doithoai_desk" not in client.cookies
        page = await client.get("/questions")
    assert page.status_code == 401 and ROOF not in page.text


# ---- sign-in links ----------------------------------------------------------------------------------------------


async def test_a_sign_in_link_works_once(world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, client = app_client
    link = await sign_in_link(desk.db, desk.settings, OFFICER, desk.clock())
    first = await sign_in(client, link)
    assert first.status_code == 303 and first.headers["location"] == "/overview"
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
    async with httpx.AsyncClient(transport=client._transport, base_url="http://desk") as stranger:
        again = await sign_in(stranger, link)
        assert again.status_code == 403 and "doithoai_desk" not in again.headers.get("set-cookie", "")
        assert (await stranger.get("/questions")).status_code == 401


async def test_a_sign_in_link_posted_from_another_site_is_refused_and_stays_unspent(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, client = app_client
    link = await sign_in_link(desk.db, desk.settings, ORGANIZER, desk.clock())
    path = httpx.URL(link).path

    forged = await client.post(path, data={"nonce": "guessed"})    # no nonce cookie: not from the button's page
    honest = await sign_in(client, link)

    assert forged.status_code == 403 and "doithoai_desk" not in forged.cookies
    assert honest.status_code == 303


async def test_an_expired_sign_in_link_is_refused(world: World, clock: FrozenClock,
                                                 app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, client = app_client
    link = await sign_in_link(desk.db, desk.settings, OFFICER, desk.clock())
    clock.advance(minutes=10, seconds=1)
    assert (await sign_in(client, link)).status_code == 403
    assert (await client.get("/questions")).status_code == 401


async def test_the_session_ends_at_sign_out_and_after_twelve_hours(
        world: World, clock: FrozenClock, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "officer") as client:
        page = await client.get("/questions")
        out = await client.post("/signout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await client.get("/questions")).status_code == 401
    async with visitor(desk, "officer") as client:
        clock.advance(hours=12, seconds=1)
        assert (await client.get("/questions")).status_code == 401


async def test_a_revoked_officer_is_shut_out_at_the_next_click(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    from bot.staff import roles

    desk, _ = app_client
    async with visitor(desk, "officer") as client:
        assert (await client.get("/questions")).status_code == 200
        async with desk.db.transaction() as conn:
            await roles.revoke(conn, "telegram", OFFICER)
        refused = await client.get(f"/questions/{world.subs['roof'].id}")
    assert refused.status_code == 401 and ROOF not in refused.text


# ---- CSRF ---------------------------------------------------------------------------------------------------------


async def test_forms_without_the_csrf_token_are_refused(world: World,
                                                        app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    roof = world.subs["roof"]
    async with visitor(desk, "admin") as client:
        posts = {f"/questions/{roof.id}/answer": {"answer": "Có, xã hỗ trợ."},
                 f"/questions/{roof.id}/status": {"status": "later"},
                 "/questions/merge": {"group": [str(roof.id), str(world.subs["roof2"].id)]},
                 "/questions/split": {"submission": str(roof.id)},
                 "/paper": {"full_name": "Võ Văn Sáu", "hamlet_id": "tan-hau", "category": "poor", "kind": "question",
                            "topic_id": "nha-o", "content": "Xin hỗ trợ sửa nhà", "source": "paper"},
                 "/staff/invite": {"role": "officer"}, "/staff/revoke": {"who": f"telegram:{OFFICER}"},
                 "/signout": {}}
        for path, form in posts.items():
            for token in (None, "forged-token"):
                data = dict(form) if token is None else {**form, "csrf": token}
                assert (await client.post(path, data=data)).status_code == 403, (path, token)
        assert (await client.get("/questions")).status_code == 200, "still signed in"
    async with desk.db.reading() as conn, conn.execute(
            "SELECT COUNT(*) FROM submissions WHERE answer IS NOT NULL OR status != 'new'") as cur:
        assert (await cur.fetchone())[0] == 0
    async with desk.db.reading() as conn, conn.execute("SELECT COUNT(*) FROM group_overrides") as cur:
        assert (await cur.fetchone())[0] == 0


# ---- the work -----------------------------------------------------------------------------------------------------


async def test_an_answer_from_the_page_is_queued_for_the_household_as_by_answer(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    roof = world.subs["roof"]
    async with visitor(desk, "officer") as client:
        page = await client.get(f"/questions/{roof.id}")
        sent = await client.post(f"/questions/{roof.id}/answer",
                                 data={"csrf": csrf_of(page.text), "answer": "Có. Xin mời lên UBND xã nộp đơn."})
        assert sent.status_code == 303
        after = await client.get(sent.headers["location"])
    assert t("desk.note_answer_sent") in after.text
    async with desk.db.reading() as conn:
        async with conn.execute("SELECT dedupe_key, chat_id, status FROM outbox") as cur:
            rows = await cur.fetchall()
        async with conn.execute("SELECT action, actor_id FROM audit_log WHERE target = ?", (roof.code,)) as cur:
            audited = [tuple(row) for row in await cur.fetchall()]
    assert [(key.split(":")[0], chat, status) for key, chat, status in rows] == [("answer", HOUSEHOLD, "pending")]
    assert ("answer", OFFICER) in audited and ("view", OFFICER) in audited


async def test_the_filters_find_by_text_without_accents_and_by_hamlet_and_status(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "admin") as client:
        by_text = await client.get("/questions", params={"q": "bao hiem y te"})
        by_hamlet = await client.get("/questions", params={"hamlet": "tan-dan"})
        by_agency = await client.get("/questions", params={"agency": "Ngân hàng Chính sách xã hội"})
        by_status = await client.get("/questions", params={"status": "answered"})
    assert CARD in by_text.text and ROOF not in by_text.text
    assert JOB in by_hamlet.text and ROOF not in by_hamlet.text
    assert all(text not in by_agency.text for text in (ROOF, CARD, JOB))
    assert t("desk.nothing_found") in by_status.text


async def test_merged_groups_are_one_group_in_the_next_report_and_a_split_one_stands_alone(
        world: World, settings: Settings, clock: FrozenClock, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    roof, roof2, card = world.subs["roof"], world.subs["roof2"], world.subs["card"]
    async with visitor(desk, "officer") as client:
        page = await client.get("/questions", params={"view": "groups"})
        merged = await client.post("/questions/merge", data={
            "csrf": csrf_of(page.text), "group": [f"{roof.id},{roof2.id}", str(card.id)],
            "back": "/questions?view=groups"})
        assert merged.status_code == 303 and "note=merged" in merged.headers["location"]

    def sizes(data: object) -> list[list[int]]:
        return sorted(sorted(item.submission_id for item in g.items) for gs in groups_by_topic(data).values()
                      for g in gs)

    dialogue_id = settings.dialogues[0].id
    report = await load_report(desk.db, settings, dialogue_id, now=clock())
    assert [roof.id, roof2.id, card.id] in sizes(report)
    async with visitor(desk, "officer") as client:
        page = await client.get("/questions", params={"view": "groups"})
        await client.post("/questions/split", data={"csrf": csrf_of(page.text), "submission": str(card.id)})
    report = await load_report(desk.db, settings, dialogue_id, now=clock())
    assert [card.id] in sizes(report) and [roof.id, roof2.id] in sizes(report)


async def test_an_officer_cannot_merge_what_their_scope_does_not_hold(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "other officer") as client:
        page = await client.get("/questions", params={"view": "groups"})
        refused = await client.post("/questions/merge", data={
            "csrf": csrf_of(page.text), "group": [str(world.subs["roof"].id), str(world.subs["job"].id)]})
    assert refused.status_code == 404 and ROOF not in refused.text


async def test_a_paper_form_is_stored_as_entered_by_the_officer_and_counted(
        world: World, settings: Settings, clock: FrozenClock, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "officer") as client:
        page = await client.get("/paper")
        saved = await client.post("/paper", data={
            "csrf": csrf_of(page.text), "full_name": "Võ Văn Sáu", "hamlet_id": "tan-hau", "category": "near_poor",
            "phone": "", "kind": "petition", "topic_id": "nha-o", "content": "Xin hỗ trợ sửa mái nhà bị dột",
            "source": "phone"})
        assert saved.status_code == 303
        shown = await client.get(saved.headers["location"])
        outside = await client.post("/paper", data={
            "csrf": csrf_of(page.text), "full_name": "Lê Thị Bảy", "hamlet_id": "tan-dan", "category": "poor",
            "kind": "question", "topic_id": "nha-o", "content": "Hỏi về nhà ở", "source": "paper"})
    assert "Xin hỗ trợ sửa mái nhà bị dột" in shown.text and f"telegram:{OFFICER}" in shown.text
    assert outside.status_code == 400 and t("desk.paper_out_of_scope") in outside.text
    async with desk.db.reading() as conn:
        async with conn.execute(
                "SELECT s.channel, p.consent_at IS NOT NULL, pe.entered_by, pe.source FROM submissions s"
                " JOIN persons p ON p.id = s.person_id JOIN paper_entries pe ON pe.submission_id = s.id") as cur:
            rows = [tuple(row) for row in await cur.fetchall()]
    assert rows == [("paper", 1, f"telegram:{OFFICER}", "phone")]
    report = await load_report(desk.db, settings, settings.dialogues[0].id, now=clock())
    assert "Xin hỗ trợ sửa mái nhà bị dột" in [row.content for row in report.rows]


async def test_an_organizer_invites_an_officer_with_a_scope_and_the_admin_sees_the_audit(
        world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "organizer") as client:
        page = await client.get("/staff")
        made = await client.post("/staff/invite", data={"csrf": csrf_of(page.text), "role": "officer",
                                                        "hamlet": ["tan-hung"]})
        too_high = await client.post("/staff/invite", data={"csrf": csrf_of(page.text), "role": "organizer"})
    assert "https://t.me/doithoai_test_bot?start=inv-" in made.text
    assert "t.me" not in too_high.text
    async with visitor(desk, "admin") as client:
        audit = await client.get("/audit", params={"action": "invite"})
    assert audit.status_code == 200 and f"telegram:{ORGANIZER}" in audit.text and "inv-" not in audit.text


async def test_reports_download_for_organizers(world: World, settings: Settings,
                                               app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    dialogue_id = settings.dialogues[0].id
    async with visitor(desk, "organizer") as client:
        csv = await client.get(f"/reports/{dialogue_id}/csv")
        paper = await client.get(f"/reports/{dialogue_id}/docx", params={"agency": "UBND xã"})
        unknown = await client.get("/reports/no-such-dialogue/csv")
    assert csv.status_code == 200 and ROOF in csv.content.decode("utf-16")
    assert paper.status_code == 200 and paper.content[:2] == b"PK"
    assert unknown.status_code == 404


async def test_the_paper_invitations_download_for_organizers_only(
        world: World, settings: Settings, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    import io

    from docx import Document

    desk, _ = app_client
    dialogue_id = settings.dialogues[0].id
    async with visitor(desk, "organizer") as client:
        invitations = await client.get(f"/reports/{dialogue_id}/invitations")
        reports = await client.get("/reports")
    async with visitor(desk, "officer") as client:
        refused = await client.get(f"/reports/{dialogue_id}/invitations")
    text = "\n".join(p.text for p in Document(io.BytesIO(invitations.content)).paragraphs)
    assert invitations.status_code == 200 and text.count("GIẤY MỜI") >= 1
    assert f"/reports/{dialogue_id}/invitations" in reports.text
    assert refused.status_code in (401, 403) and refused.content[:2] != b"PK"


async def test_healthz_and_the_webhook_body_limit(world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    _, client = app_client
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["database"] == "ok" and health.json()["outbox_backlog"] == 0
    assert (await client.post("/hook", content=b"x" * 1001)).status_code == 413
    assert (await client.post("/hook", content=b"hello")).content == b"hello"


async def test_a_voice_note_plays_in_the_page_for_whoever_may_see_it(
        world: World, settings: Settings, database: Database, clock: FrozenClock, events: Events) -> None:
    from storage import submissions

    async def fetch(file_id: str) -> bytes:
        return b"OggS voice " + file_id.encode()

    async with database.transaction() as conn:
        voice = await submissions.create_submission(
            conn, person_id=world.household_person, hamlet_id="tan-hau", category="poor", kind="question",
            field_id="giam-ngheo", topic_id="nha-o", content=None, media_kind="voice", media_file_id="voice-1",
            channel="telegram", now=clock().isoformat())
    desk = Desk(settings, database, events, clock, file_fetchers={"telegram": fetch})
    async with visitor(desk, "officer") as client:
        page = await client.get(f"/questions/{voice.id}")
        sound = await client.get(f"/questions/{voice.id}/media")
    async with visitor(desk, "other officer") as client:
        refused = await client.get(f"/questions/{voice.id}/media")
    assert f'<audio controls preload="none" src="/questions/{voice.id}/media">' in page.text
    assert sound.status_code == 200 and sound.headers["content-type"] == "audio/ogg"
    assert sound.content.endswith(b"voice-1")
    assert refused.status_code == 404 and b"OggS" not in refused.content


async def test_the_desk_speaks_english_when_asked(world: World, app_client: tuple[Desk, httpx.AsyncClient]) -> None:
    desk, _ = app_client
    async with visitor(desk, "officer") as client:
        assert t("desk.nav_questions", "vi") in (await client.get("/questions")).text
        switched = await client.get("/lang/en", params={"next": "/questions?hamlet=tan-hau"})
        assert switched.headers["location"] == "/questions?hamlet=tan-hau"
        english = await client.get("/questions")
        outside = await client.get("/lang/en", params={"next": "//evil.example"})
    assert t("desk.nav_questions", "en") in english.text and 'lang="en"' in english.text
    assert outside.headers["location"] == "/questions"
