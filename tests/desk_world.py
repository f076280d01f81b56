"""The commune the desk tests work in: households that asked things in two hamlets, and the staff of every kind
(an officer whose scope covers the first hamlet, one of another scope, an organizer, an administrator)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from bot.core.clock import iso
from bot.core.config import Settings
from bot.staff import roles
from bot.staff.roles import Scope
from bot.staff.web_signin import make_link
from storage import Database, people, submissions
from storage.records import Submission

ADMIN = "9001"
HOUSEHOLD = "1001"
OFFICER = "2002"
OTHER_OFFICER = "2003"
ORGANIZER = "2004"
HERE = Scope(fields=("giam-ngheo",), hamlets=("tan-hau",))
ELSEWHERE = Scope(fields=("lao-dong-viec-lam",), hamlets=("tan-dan",))
ROOF = "Nhà tôi dột nát, có được hỗ trợ sửa nhà không?"
ROOF_TOO = "Xin hỏi nhà bị dột có được hỗ trợ sửa không ạ"
CARD = "Khi nào được cấp thẻ bảo hiểm y tế cho hộ nghèo?"
JOB = "Tôi muốn đi học nghề hàn thì đăng ký ở đâu?"
NAME = "Nguyễn Thị Bình"
PHONE = "0912345678"


@dataclass
class World:
    subs: dict[str, Submission] = field(default_factory=dict)   # by the text's first word: roof, roof2, card, job
    household_person: int = 0


async def household(conn: object, user_id: str, name: str, hamlet: str, now: str) -> int:
    person = await people.create_person_with_identity(conn, channel="telegram", external_id=user_id,
                                                      chat_id=user_id, display_name=name, language="vi", now=now)
    await people.update_profile(conn, person.id, full_name=name, hamlet_id=hamlet, category="poor", phone=PHONE)
    await people.set_consent(conn, person.id, now)
    return person.id


async def ask(conn: object, person: int, hamlet: str, field_id: str, topic: str, text: str, now: str) -> Submission:
    return await submissions.create_submission(
        conn, person_id=person, hamlet_id=hamlet, category="poor", kind="question", field_id=field_id,
        topic_id=topic, content=text, media_kind=None, media_file_id=None, channel="telegram", now=now)


async def build_world(db: Database, now: datetime) -> World:
    world = World()
    stamp = iso(now)
    async with db.transaction() as conn:
        world.household_person = await household(conn, HOUSEHOLD, NAME, "tan-hau", stamp)
        other = await household(conn, "1002", "Trần Văn Tư", "tan-hau", stamp)
        far = await household(conn, "1003", "Lê Văn Năm", "tan-dan", stamp)
        world.subs["roof"] = await ask(conn, world.household_person, "tan-hau", "giam-ngheo", "nha-o", ROOF, stamp)
        world.subs["roof2"] = await ask(conn, other, "tan-hau", "giam-ngheo", "nha-o", ROOF_TOO, stamp)
        world.subs["card"] = await ask(conn, other, "tan-hau", "giam-ngheo", "nha-o", CARD, stamp)
        world.subs["job"] = await ask(conn, far, "tan-dan", "lao-dong-viec-lam", "dao-tao-nghe", JOB, stamp)
        for user_id, role, scope in ((OFFICER, "officer", HERE), (OTHER_OFFICER, "officer", ELSEWHERE),
                                     (ORGANIZER, "organizer", roles.EVERYTHING)):
            await roles.grant(conn, "telegram", user_id, role, f"Cán bộ {user_id}", stamp, scope)
    return world


def with_admin(settings: Settings) -> Settings:
    return settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [int(ADMIN)]})})


async def sign_in_link(db: Database, settings: Settings, user_id: str, now: datetime) -> str:
    """A /web link for this Telegram user, as the command makes it (whatever their role: the link decides)."""
    async with db.transaction() as conn:
        return await make_link(conn, settings, "telegram", user_id, now)


async def sign_in(client: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open the link and press the button, as a browser does (the page's nonce goes back with its cookie)."""
    path = httpx.URL(link).path
    shown = await client.get(path)
    assert shown.status_code == 200
    nonce = re.search(r'name="nonce" value="([^"]+)"', shown.text)
    return await client.post(path, data={"nonce": nonce.group(1) if nonce else ""})
