"""``doithoai export``: the committee report of a dialogue as Word, Excel or CSV files, from the command line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.config import Settings
from bot.core.i18n import t
from bot.reports.report_data import Progress
from bot.reports.report_files import use_private_temp
from bot.staff import audit
from storage import database_at

FILE_FORMATS = ("docx", "xlsx", "csv")  # the order of bot.reports.build.FORMATS
FORMAT_CHOICES = (*FILE_FORMATS, "all")


class OutRefused(Exception):
    """``--out`` and ``--format`` disagree; ``key`` is the catalogue's explanation."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@click.command("export")
@click.option("--dialogue", "dialogue_id", required=True, help="The dialogue id, e.g. tan-thuan-tay-2027.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None,
              help="One format, or all three (default: the suffix of --out, else all).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="The file to write (one format: bao-cao.docx) or the folder (all); default: the private exports "
                   "folder next to the database.")
@click.option("--agency", default=None,
              help='Only what one agency answers, its working paper (a part of its name is enough: "ngân hàng").')
@CONFIG_OPTION
def export(dialogue_id: str, fmt: str | None, out: Path | None, agency: str | None, config_path: Path) -> None:
    """Write the report "Báo cáo tổng hợp ý kiến, kiến nghị" of a dialogue (files readable by you only)."""
    from bot.cli.runtime import seed_dialogues
    from bot.core.clock import system_clock
    from bot.dialogues.service import DialogueError
    from bot.reports.build import ReportFiles, build_report

    settings = load_or_exit(config_path)
    lang = settings.bot.language
    use_private_temp(settings)
    try:
        formats = chosen_formats(fmt, out)
    except OutRefused as refused:
        click.echo(t(refused.key, lang, path=out, format=fmt), err=True)
        sys.exit(2)
    folder, targets = _destination(settings, out, formats)

    async def go() -> ReportFiles:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await seed_dialogues(db, settings)
            with progress_bar(t("report.cli_progress", lang)) as progress:
                files = await build_report(db, settings, dialogue_id, now=system_clock(), folder=folder,
                                           formats=formats, targets=targets, progress=progress, agency=agency)
            await audit.record_cli(db, "export", dialogue_id, formats=",".join(formats), agency=agency or "")
            return files

    try:
        files = asyncio.run(go())
    except DialogueError as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(t("report.cli_bad_out", lang, path=exc.filename or out, problem=exc.strerror), err=True)
        sys.exit(1)
    for path in files.paths.values():
        click.echo(t("report.cli_written", lang, path=path))


def chosen_formats(fmt: str | None, out: Path | None) -> tuple[str, ...]:
    """The formats to write: ``--format``, else the suffix of ``--out`` (bao-cao.docx), else all three.

    A file name whose suffix names another format is refused, and so is ``all`` (or no format) with a file name:
    three files need a folder."""
    suffix = out.suffix.lower().lstrip(".") if out is not None and not out.is_dir() else ""
    if fmt is None:
        fmt = suffix if suffix in FILE_FORMATS else "all"
    if fmt == "all":
        if suffix in FILE_FORMATS or (out is not None and out.is_file()):
            raise OutRefused("report.cli_all_needs_folder")
        return FILE_FORMATS
    if suffix and suffix != fmt:
        raise OutRefused("report.cli_format_mismatch")
    return (fmt,)


def _destination(settings: Settings, out: Path | None, formats: tuple[str, ...]) -> tuple[Path, dict[str, Path]]:
    """(folder, explicit files): ``--out`` names the file of a single format unless it is an existing folder."""
    from bot.reports.report_files import exports_dir

    if out is None:
        return exports_dir(settings), {}
    if len(formats) == 1 and not out.is_dir():
        return out.parent, {formats[0]: out}
    return out, {}


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A tqdm bar on stderr (hidden when stderr is not a terminal), fed by the report's progress callback."""
    from tqdm import tqdm

    with tqdm(desc=label, disable=None, leave=False, file=sys.stderr) as bar:

        def update(done: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield update
