"""Write the report files of one dialogue: the data is read once, each format written from it off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.core.config import Settings
from bot.core.workers import in_process
from bot.dialogues.service import DialogueError
from bot.reports.report_data import Progress, ReportData, load_from, load_report, no_progress
from bot.reports.working_papers import matching_agency
from storage import Database
from storage.backends import read_snapshot

FORMATS = ("docx", "xlsx", "csv")
Writer = Callable[[ReportData, Path, Progress], Path]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    dialogue_id: str
    title: str
    submissions: int
    households: int
    paths: dict[str, Path]          # format → file, in the order asked

    def document_name(self, fmt: str) -> str:
        """The name the file has in the recipient's chat."""
        return f"Bao-cao-tong-hop-{self.dialogue_id}.{fmt}"


def writer(fmt: str) -> Writer:
    """The writer of one format, imported only when needed (python-docx is slow to load)."""
    if fmt == "docx":
        from bot.reports.report_docx import write_report_docx

        return write_report_docx
    if fmt == "xlsx":
        from bot.reports.report_xlsx import write_report_xlsx

        return write_report_xlsx
    if fmt == "csv":
        from bot.reports.report_csv import write_report_csv

        return write_report_csv
    raise ValueError(f"unknown report format {fmt!r}")


def file_name(dialogue_id: str, moment: datetime, settings: Settings, fmt: str) -> str:
    return f"bao-cao-{dialogue_id}-{moment.astimezone(settings.tz):%Y%m%d-%H%M%S}.{fmt}"


def _stage(progress: Progress, index: int, stages: int) -> Progress:
    """One stage's progress (loading, then each format) as a part of the whole."""
    return lambda done, total: progress(index * total + done, stages * total)


async def build_report(db: Database, settings: Settings, dialogue_id: str, *, now: datetime,
                       folder: Path, formats: Sequence[str] = FORMATS, targets: dict[str, Path] | None = None,
                       lang: str | None = None, progress: Progress = no_progress,
                       agency: str | None = None) -> ReportFiles:
    """Write the asked formats into ``folder`` (or to ``targets[fmt]``); unknown dialogue: ``DialogueError``.
    ``agency`` keeps only what that agency answers (a part of its name is enough; unknown: ``DialogueError``)."""
    paths = {fmt: (targets or {}).get(fmt) or folder / file_name(dialogue_id, now, settings, fmt) for fmt in formats}
    if progress is no_progress and db.path != ":memory:":
        # the bot's own reports: read and written in the worker process, so neither the event loop nor the GIL
        # is held by 50,000 rows (the CLI, a process of its own, reads here and shows its progress)
        built = await in_process(_build_in_worker, db.path, settings, dialogue_id, now, tuple(formats), paths, lang,
                                 agency)
        if isinstance(built, tuple):
            raise DialogueError(built[0], **built[1])
        return built
    data = await load_report(db, settings, dialogue_id, now=now, lang=lang,
                             progress=_stage(progress, 0, len(formats) + 1))
    return await asyncio.to_thread(_write, data, dialogue_id, tuple(formats), paths, agency, progress)


def _build_in_worker(path: str, settings: Settings, dialogue_id: str, now: datetime, formats: tuple[str, ...],
                     paths: dict[str, Path], lang: str | None,
                     agency: str | None) -> ReportFiles | tuple[str, dict[str, object]]:
    """In the worker process: the snapshot read and every format; a refusal comes back as (key, values)."""
    try:
        data = read_snapshot(path, load_from, settings, dialogue_id, now, lang, no_progress)
        return _write(data, dialogue_id, formats, paths, agency, no_progress)
    except DialogueError as exc:
        return exc.key, dict(exc.values)


def _write(data: ReportData, dialogue_id: str, formats: tuple[str, ...], paths: dict[str, Path],
           agency: str | None, progress: Progress) -> ReportFiles:
    if agency is not None:
        name = matching_agency(data, agency)
        if name is None:
            raise DialogueError("report.unknown_agency", agency=agency, known=", ".join(data.agency_topics))
        data = data.for_agency(name)
    stages = len(formats) + 1
    for index, fmt in enumerate(formats, start=1):
        writer(fmt)(data, paths[fmt], _stage(progress, index, stages))
    return ReportFiles(dialogue_id, data.dialogue.title, len(data.rows), data.households, paths)
