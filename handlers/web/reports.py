"""Báo cáo: the committee report (DOCX, XLSX, CSV), an agency's working paper and the paper invitations, built by
the same code as ``/report``, ``/invitation`` and the command line, for organizers and administrators; audited."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from bot.dialogues.service import DialogueError
from bot.reports.build import FORMATS, build_report
from bot.reports.report_files import exports_dir
from bot.staff import audit
from handlers.web.filters import agencies
from handlers.web.render import page
from handlers.web.session import desk, lang_of, signed_in
from storage import dialogues as dialogue_repo

MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}


async def reports_page(request: Request) -> Response:
    user = await signed_in(request, "organizer")
    found = desk(request)
    async with found.db.reading() as conn:
        dialogues = await dialogue_repo.list_dialogues(conn)
    return page(request, "reports.html", user, dialogues=dialogues, formats=FORMATS,
                agencies=agencies(found.settings))


async def download(request: Request) -> Response:
    user = await signed_in(request, "organizer")
    found = desk(request)
    dialogue_id, fmt = request.path_params["dialogue"], request.path_params["fmt"]
    agency = request.query_params.get("agency") or None
    if fmt not in FORMATS:
        raise HTTPException(404)
    now = found.clock()
    folder = Path(tempfile.mkdtemp(prefix="desk-report-", dir=exports_dir(found.settings)))
    try:
        files = await build_report(found.db, found.settings, dialogue_id, now=now, folder=folder, formats=(fmt,),
                                   lang=lang_of(request), agency=agency)
    except DialogueError:
        _remove(folder)
        raise HTTPException(404) from None
    async with found.db.transaction() as conn:
        await audit.record(conn, user.actor(), "export", dialogue_id, now=now, format=fmt, agency=agency or "",
                           via="web")
    path = files.paths[fmt]
    name = (f"Phieu-lam-viec-{dialogue_id}.{fmt}" if agency else files.document_name(fmt))
    return FileResponse(path, media_type=MEDIA[fmt], filename=name, background=BackgroundTask(_remove, folder))


async def invitations(request: Request) -> Response:
    """The paper invitations of a dialogue, one page per hamlet (the same code as /invitation)."""
    from bot.reports.invitation import file_name, make_invitations

    user = await signed_in(request, "organizer")
    found = desk(request)
    dialogue_id = request.path_params["dialogue"]
    now = found.clock()
    folder = Path(tempfile.mkdtemp(prefix="desk-invitation-", dir=exports_dir(found.settings)))
    path = folder / file_name(dialogue_id, None)
    try:
        await make_invitations(found.db, found.settings, dialogue_id, path, hamlet_id=None,
                               bot_username=found.bot_username or found.settings.telegram.username, now=now,
                               lang=lang_of(request))
    except DialogueError:
        _remove(folder)
        raise HTTPException(404) from None
    async with found.db.transaction() as conn:
        await audit.record(conn, user.actor(), "invitation", dialogue_id, now=now, via="web")
    return FileResponse(path, media_type=MEDIA["docx"], filename=path.name, background=BackgroundTask(_remove, folder))


def _remove(folder: Path) -> None:
    for item in folder.iterdir():
        item.unlink(missing_ok=True)
    folder.rmdir()


ROUTES = [
    Route("/reports", reports_page, methods=["GET"]),
    Route("/reports/{dialogue}/invitations", invitations, methods=["GET"]),
    Route("/reports/{dialogue}/{fmt}", download, methods=["GET"]),
]
