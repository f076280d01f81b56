"""Tổng quan, the first page after sign-in: for each current dialogue, the questions by field, topic and hamlet
(bars drawn in the page), registrations against quota, the waitlist and arrivals per hamlet, what is still
unanswered per agency, and the days left to the deadline and to the dialogue. An officer sees their scope only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.config import Settings
from bot.dialogues import service as dialogues
from bot.staff.roles import Scope
from handlers.web.questions import viewer
from handlers.web.render import label, page
from handlers.web.session import desk, lang_of, signed_in
from storage import desk_views
from storage import dialogues as repo
from storage.dialogues import Dialogue, SeatCount

CURRENT = ("draft", "open", "closed")


@dataclass(slots=True)
class Bars:
    """One chart: (label, count) from the largest, and the largest count (the full width)."""

    items: list[tuple[str, int]] = field(default_factory=list)

    @property
    def top(self) -> int:
        return max((count for _, count in self.items), default=0) or 1


@dataclass(slots=True)
class Summary:
    dialogue: Dialogue
    when: str
    days_to_deadline: int | None
    days_to_dialogue: int | None
    seats: list[SeatCount]
    by_field: Bars
    by_topic: Bars
    by_hamlet: Bars
    unanswered: Bars


def _bars(counts: dict[str, int], names: dict[str, str]) -> Bars:
    return Bars(sorted(((names.get(key, key), count) for key, count in counts.items()), key=lambda i: (-i[1], i[0])))


def _days(moment: datetime | None, now: datetime, settings: Settings) -> int | None:
    if moment is None:
        return None
    return (moment.astimezone(settings.tz).date() - now.astimezone(settings.tz).date()).days


def _in_scope(scope: Scope, settings: Settings, topic_counts: dict[str, int]) -> dict[str, int]:
    return {topic_id: count for topic_id, count in topic_counts.items()
            if (found := settings.topic(topic_id)) and scope.allows(found[0].id, topic_id, None)}


async def summary(request: Request, dialogue: Dialogue, scope: Scope, lang: str) -> Summary:
    found = desk(request)
    settings = found.settings
    now = found.clock()
    async with found.db.reading() as conn:
        seats = await dialogues.seats(conn, dialogue.id)
        hamlets = [c.hamlet_id for c in seats if not scope.hamlets or c.hamlet_id in scope.hamlets]
        by_topic = _in_scope(scope, settings, await desk_views.question_counts(conn, hamlets, "topic_id"))
        waiting = _in_scope(scope, settings, await desk_views.unanswered_by_topic(conn, hamlets))
        by_hamlet = await desk_views.question_counts(conn, hamlets, "hamlet_id") if not (scope.fields or scope.topics) \
            else {}
    topic_names = {t.id: t.name for f in settings.fields for t in f.topics}
    field_of = {t.id: f for f in settings.fields for t in f.topics}
    by_field: dict[str, int] = {}
    agencies: dict[str, int] = {}
    nobody = label("desk.o_no_agency", lang)
    for topic_id, count in by_topic.items():
        owner = field_of.get(topic_id)
        by_field[owner.name if owner else topic_id] = by_field.get(owner.name if owner else topic_id, 0) + count
    for topic_id, count in waiting.items():
        agency = next((t.agency for f in settings.fields for t in f.topics if t.id == topic_id), "") or nobody
        agencies[agency] = agencies.get(agency, 0) + count
    return Summary(dialogue=dialogue, when=dialogues.when_text(dialogue, settings, lang),
                   days_to_deadline=_days(dialogue.deadline, now, settings),
                   days_to_dialogue=_days(dialogue.starts_at, now, settings),
                   seats=[c for c in seats if c.hamlet_id in hamlets], by_field=_bars(by_field, {}),
                   by_topic=_bars(by_topic, topic_names), unanswered=_bars(agencies, {}),
                   by_hamlet=_bars(by_hamlet, {u.id: u.name for u in settings.hamlets()}))


async def overview(request: Request) -> Response:
    user = await signed_in(request)
    found = desk(request)
    scope = (await viewer(found, user)).scope
    lang = lang_of(request)
    async with found.db.reading() as conn:
        current = await repo.list_dialogues(conn, CURRENT)
    summaries = [await summary(request, d, scope, lang) for d in current]
    return page(request, "overview.html", user, summaries=summaries,
                hamlet_names={u.id: u.name for u in found.settings.hamlets()})


ROUTES = [Route("/overview", overview, methods=["GET"])]
