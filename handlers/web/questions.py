"""Câu hỏi: every submission in the viewer's scope, filtered and paged on the server; the grouped view (the
project's grouping with the officers' merges and splits), where groups are merged and questions split out."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.answers.service import Viewer, viewer_for, visible
from bot.core.text import fold, one_line, shorten
from bot.digest import group_overrides
from bot.digest.group_overrides import GroupingError
from bot.digest.grouping import Group, Item
from bot.form.states import CATEGORIES, KINDS
from bot.staff.web_signin import DeskUser
from handlers.web.desk import Desk
from handlers.web.filters import STATUSES, Filters, agencies, where
from handlers.web.render import page
from handlers.web.session import desk, form_of, signed_in, text_field
from storage import desk as repo
from storage import dialogues as dialogue_repo

PAGE_SIZE = 50
GROUPED_LIMIT = 5000   # the grouped view reads at most this many questions (narrow the filter for more)
SNIPPET = 160


async def viewer(found: Desk, user: DeskUser) -> Viewer:
    async with found.db.reading() as conn:
        return await viewer_for(conn, found.settings, user.channel, user.external_id)


async def index_new_texts(found: Desk) -> None:
    """The text search's index catches up with the submissions that came since the last look (cheap when none)."""
    async with found.db.reading() as conn:
        behind = await repo.unindexed(conn)
    if behind:
        async with found.db.transaction() as conn:
            await repo.index_new(conn, fold)


async def list_page(request: Request) -> Response:
    user = await signed_in(request)
    found = desk(request)
    chosen = Filters.read(request.query_params)
    number = _page_number(request.query_params.get("page", "1"))
    grouped_view = request.query_params.get("view") == "groups"
    if chosen.q:
        await index_new_texts(found)
    seen = await viewer(found, user)
    async with found.db.reading() as conn:
        conditions = await where(conn, found.settings, seen, chosen)
        dialogues = await dialogue_repo.list_dialogues(conn)
        if grouped_view:
            rows = [row for row in await repo.matching(conn, conditions, GROUPED_LIMIT) if seen.sees(row.submission)]
            overrides = await group_overrides.load(conn)
        else:
            result = await repo.page(conn, conditions, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    context = _choices(found, seen, dialogues)
    if grouped_view:
        groups = _groups(rows, overrides)
        return page(request, "groups.html", user, filters=chosen, groups=groups, shown=len(rows),
                    capped=len(rows) >= GROUPED_LIMIT, **context)
    rows = [row for row in result.rows if seen.sees(row.submission)]
    pages = max(1, -(-result.total // PAGE_SIZE))
    template = "question_rows.html" if request.headers.get("HX-Request") == "true" else "questions.html"
    return page(request, template, user, filters=chosen, rows=rows, total=result.total, number=number,
                pages=pages, snippet=_snippet, **context)


def _page_number(raw: str) -> int:
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def _snippet(text: str | None) -> str:
    return shorten(one_line(text or ""), SNIPPET)


def _choices(found: Desk, seen: Viewer, dialogues: list) -> dict[str, object]:
    """What the filter's lists offer: only hamlets, fields and topics the viewer's scope reaches."""
    settings, scope = found.settings, seen.scope
    hamlets = [u for u in settings.hamlets() if not scope.hamlets or u.id in scope.hamlets]
    fields = [f for f in settings.fields
              if not (scope.fields or scope.topics) or f.id in scope.fields
              or any(topic.id in scope.topics for topic in f.topics)]
    topics = [(f, topic) for f in fields for topic in f.topics
              if not (scope.fields or scope.topics) or f.id in scope.fields or topic.id in scope.topics]
    return {"dialogues": dialogues, "hamlets": hamlets, "fields": fields, "topics": topics,
            "agencies": agencies(settings), "statuses": STATUSES, "kinds": KINDS, "categories": CATEGORIES,
            "hamlet_names": {u.id: u.name for u in settings.iter_units()},
            "topic_names": {topic.id: topic.name for f in settings.fields for topic in f.topics}}


def _groups(rows: list, overrides: group_overrides.GroupOverrides) -> list[tuple[Group, str]]:
    items = [Item(r.submission.id, r.submission.content or "", r.name or "", r.submission.hamlet_id,
                  r.submission.field_id, r.submission.topic_id, r.submission.kind, r.submission.status,
                  r.submission.media_kind) for r in rows]
    codes = {r.submission.id: r.submission.code for r in rows}
    found = group_overrides.grouped([i for i in items if not i.media_kind], overrides)
    found += [Group([i], "") for i in items if i.media_kind]
    return [(group, ",".join(str(i.submission_id) for i in group.items)) for group in found
            if all(i.submission_id in codes for i in group.items)]


async def merge(request: Request) -> Response:
    user = await signed_in(request)
    form = await form_of(request, user)
    found = desk(request)
    chosen = [value for value in form.getlist("group") if isinstance(value, str)]
    ids = sorted({int(part) for value in chosen for part in value.split(",") if part.isdigit()})
    back = _back(text_field(form, "back", 2000))
    if len(chosen) < 2 or not ids or len(ids) > GROUPED_LIMIT:
        return RedirectResponse(_with(back, "note=merge_needs_two"), status_code=303)
    try:
        async with found.db.transaction() as conn:
            seen = await viewer_for(conn, found.settings, user.channel, user.external_id)
            subs = [await visible(conn, seen, sid) for sid in ids]
            if any(sub is None for sub in subs):
                raise HTTPException(404)
            await group_overrides.merge(conn, user.actor(), [s for s in subs if s is not None], found.clock())
    except GroupingError as refusal:
        return RedirectResponse(_with(back, f"note={refusal.key.rsplit('.', 1)[-1]}"), status_code=303)
    return RedirectResponse(_with(back, "note=merged"), status_code=303)


async def split(request: Request) -> Response:
    user = await signed_in(request)
    form = await form_of(request, user)
    found = desk(request)
    raw = text_field(form, "submission", 20)
    async with found.db.transaction() as conn:
        seen = await viewer_for(conn, found.settings, user.channel, user.external_id)
        sub = await visible(conn, seen, int(raw) if raw.isdigit() else None)
        if sub is None:
            raise HTTPException(404)
        await group_overrides.split(conn, user.actor(), sub, found.clock())
    return RedirectResponse(_with(_back(text_field(form, "back", 2000)), "note=split"), status_code=303)


def _back(path: str) -> str:
    return path if path.startswith("/questions") and not path.startswith("//") else "/questions?view=groups"


def _with(path: str, extra: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{extra}"


async def home(request: Request) -> Response:
    await signed_in(request)
    return RedirectResponse("/questions", status_code=303)


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/questions", list_page, methods=["GET"]),
    Route("/questions/merge", merge, methods=["POST"]),
    Route("/questions/split", split, methods=["POST"]),
]
