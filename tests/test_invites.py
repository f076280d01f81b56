"""Staff invitations: one-time, expiring deep links that grant a role and a scope, written in the audit log."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import pytest
from telegram.ext import Application

from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.staff import invites, roles
from bot.staff.roles import Scope
from storage import Database
from tests.fake_telegram import FakeTelegram
from tests.support import Household

ADMIN = "9001"
Grant = Callable[..., Awaitable[None]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [int(ADMIN)]})})


async def invite(engine: Engine, args: str, by: str = ADMIN) -> str:
    """The payload of the link an admin (or ``by``) gets for ``/invite <args>``."""
    replies = await Household(engine, by).command("invite", args)
    link = replies[-1].text
    assert "inv-" in link, [r.text for r in replies]
    return link[link.index("inv-"):]


async def role_and_scope(engine: Engine, user_id: str) -> tuple[str | None, Scope]:
    async with engine.db.reading() as conn:
        role = await roles.role_of(conn, engine.settings, "telegram", user_id)
        return role, await roles.scope_of(conn, engine.settings, "telegram", user_id)


async def audit_rows(database: Database) -> list[tuple]:
    async with database.reading() as conn, conn.execute(
            "SELECT actor_id, role, action, target FROM audit_log ORDER BY id") as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def test_an_invite_grants_its_role_and_scope_once(engine: Engine, database: Database) -> None:
    payload = await invite(engine, "officer linh-vuc=giam-ngheo ap=Tân Hậu, tan dan")
    sang = Household(engine, "2002")
    await sang.command("start", payload)
    scope = Scope(fields=("giam-ngheo",), hamlets=("tan-hau", "tan-dan"))
    assert sang.text == t("roles.welcome_officer", scope="Lĩnh vực: Giảm nghèo · Địa bàn: Ấp Tân Hậu, Ấp Tân Dân")
    assert await role_and_scope(engine, "2002") == ("officer", scope)

    other = Household(engine, "2003")
    await other.command("start", payload)
    assert other.replies[0].text == t("roles.invite_used")
    assert await role_and_scope(engine, "2003") == (None, roles.EVERYTHING)
    actions = [(row[0], row[2]) for row in await audit_rows(database)]
    assert actions == [(ADMIN, "invite"), (ADMIN, "command"), ("2002", "grant")]  # the /invite command, then its effect


async def test_an_invite_expires_after_72_hours_or_the_time_given_and_then_grants_nothing(
        engine: Engine, clock: FrozenClock) -> None:
    first, second = await invite(engine, "officer"), await invite(engine, "officer ap=tan-hau")
    short = await invite(engine, "officer han=24h")
    clock.advance(hours=24)
    late = Household(engine, "2003")
    await late.command("start", short)
    assert late.replies[0].text == t("roles.invite_expired")

    clock.advance(hours=47, minutes=59)
    await Household(engine, "2002").command("start", first)
    assert (await role_and_scope(engine, "2002"))[0] == "officer"
    clock.advance(minutes=1)
    await late.command("start", second)
    assert late.replies[0].text == t("roles.invite_expired")
    assert (await role_and_scope(engine, "2003"))[0] is None


@pytest.mark.parametrize("payload", ["inv-", "inv-abc", "inv-" + "x" * 60, "inv-" + "A" * 24])
async def test_an_unknown_or_malformed_invite_is_answered_kindly_and_grants_nothing(
        payload: str, engine: Engine) -> None:
    person = Household(engine, "2002")
    await person.command("start", payload)
    assert person.replies[0].text == t("roles.invite_unknown")
    assert person.prompt.choices  # a newcomer still sees the welcome and the consent question
    assert (await role_and_scope(engine, "2002"))[0] is None


async def test_only_a_hash_of_the_token_is_kept_and_the_audit_log_never_holds_it(engine: Engine,
                                                                                 database: Database) -> None:
    payload = await invite(engine, "officer ap=tan-hau")
    await Household(engine, "2002").command("start", payload)
    token = payload.removeprefix("inv-")
    assert len(payload) <= 64 and invites.TOKEN.match(token)
    async with database.reading() as conn:
        async with conn.execute("SELECT token_hash, used_by FROM invites") as cur:
            [(stored, used_by)] = [tuple(row) for row in await cur.fetchall()]
        async with conn.execute("SELECT detail, target FROM audit_log") as cur:
            logged = " ".join(f"{row[0]} {row[1]}" for row in await cur.fetchall())
    assert stored == hashlib.sha256(token.encode()).hexdigest() and used_by == "telegram:2002"
    assert token not in logged and stored[:12] in logged


async def test_without_the_bot_username_the_invite_is_a_start_command_to_forward(engine: Engine) -> None:
    replies = await Household(engine, ADMIN).command("invite", "organizer")
    assert replies[-1].text.startswith("/start inv-")
    assert t("roles.invite_forward_command") in replies[0].text


async def test_an_organizer_invites_officers_but_not_organizers(engine: Engine, grant: Grant) -> None:
    await grant("2004", "organizer")
    await invite(engine, "officer ap=tan-chu", by="2004")
    organizer = Household(engine, "2004")
    await organizer.command("invite", "organizer")
    assert organizer.text == t("roles.invite_not_allowed", role=t("roles.role_organizer"))


async def test_an_invite_never_lowers_a_higher_role_and_stays_unused(engine: Engine, grant: Grant) -> None:
    await grant("2004", "organizer")
    payload = await invite(engine, "officer")
    organizer = Household(engine, "2004")
    await organizer.command("start", payload)
    assert organizer.text == t("roles.invite_not_needed", role=t("roles.role_organizer"))
    assert (await role_and_scope(engine, "2004"))[0] == "organizer"
    await Household(engine, "2002").command("start", payload)
    assert (await role_and_scope(engine, "2002"))[0] == "officer"


@pytest.mark.parametrize(("args", "scope"), [
    ("officer", Scope()),
    ("cán bộ ấp=Tân Hậu", Scope(hamlets=("tan-hau",))),
    ("officer ap=xã tân thuận tây", Scope(hamlets=("tan-dan", "tan-hung", "tan-chu", "tan-hau"))),
    ("officer linh-vuc=Lao động chu-de=Y tế,nha-o", Scope(("lao-dong-viec-lam",), ("y-te", "nha-o"))),
    ("officer chu-de=Y tế, thẻ bảo hiểm y tế ap=TAN HAU", Scope(topics=("y-te",), hamlets=("tan-hau",))),
    ("officer lĩnh-vực=giảm nghèo han=7d", Scope(fields=("giam-ngheo",))),
])
def test_the_scope_is_read_from_ids_or_names_with_or_without_accents(args: str, scope: Scope,
                                                                      settings: Settings) -> None:
    assert invites.parse_request(settings, args).scope == scope


@pytest.mark.parametrize(("args", "key"), [
    ("boss", "roles.invite_usage"),
    ("officer Tân Hậu", "roles.invite_usage"),
    ("officer ap=Tân Xuân", "roles.unknown_hamlet"),
    ("officer chu-de=vay von", "roles.ambiguous"),
    ("officer linh-vuc=y te", "roles.unknown_field"),
    ("officer nhom=phu-nu", "roles.invite_bad_key"),
    ("officer han=90d", "roles.invite_bad_ttl"),
    ("officer han=mai", "roles.invite_bad_ttl"),
    ("organizer ap=tan-hau", "roles.organizer_no_scope"),
])
def test_a_bad_invite_is_explained(args: str, key: str, settings: Settings) -> None:
    with pytest.raises(invites.InviteError) as raised:
        invites.parse_request(settings, args)
    assert raised.value.key == key


async def test_a_bad_invite_in_the_chat_creates_nothing(engine: Engine, database: Database) -> None:
    admin = Household(engine, ADMIN)
    await admin.command("invite", "officer ap=Tân Xuân")
    assert admin.text.startswith('Không có ấp "Tân Xuân". Các ấp: tan-dan (Ấp Tân Dân)')
    await admin.command("invite")
    assert admin.text == t("roles.invite_usage")
    assert await audit_rows(database) == []


async def test_the_telegram_link_names_the_bot_and_tapping_it_makes_an_officer(
        fake_telegram: FakeTelegram, telegram_app: Application, engine: Engine) -> None:
    admin = fake_telegram.chat_with(fake_telegram.user(int(ADMIN), "Quản trị", None))
    replies = await admin.command("invite", "officer ap=tan-hau")
    link = replies[-1]["text"]
    assert link.startswith("https://t.me/doithoai_test_bot?start=inv-")

    officer = fake_telegram.chat_with(fake_telegram.user(2002, "Sang", "Phạm Thanh"))
    replies = await officer.command("start", link.split("start=", 1)[1])
    assert [r["text"] for r in replies] == [t("roles.welcome_officer", scope="Địa bàn: Ấp Tân Hậu")]
    async with engine.db.reading() as conn, conn.execute("SELECT full_name FROM staff") as cur:
        assert [row[0] for row in await cur.fetchall()] == ["Sang Phạm Thanh"]  # as Telegram gives it
