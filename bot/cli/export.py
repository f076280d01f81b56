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

FORMAT_CHOICES = ("docx", "xlsx", "csv", "all")


@click.command("export")
@click.option("--dialogue", "dialogue_id", required=True, help="The dialogue id, e.g. tan-thuan-tay-2027.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="all", show_default=True,
              help="One format, or all three.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="The file to write (one format) or the folder (all); default: the private exports folder "
                   "next to the database.")
@CONFIG_OPTION
def export(dialogue_id: str, fmt: str, out: Path | None, config_path: Path) -> None:
    """Write the report "Báo cáo tổng hợp ý kiến, kiến nghị" of a dialogue (files readable by you only)."""
    from bot.cli.runtime import seed_dialogues
    from bot.core.clock import system_clock
    from bot.dialogues.service import DialogueError
    from bot.reports.build import FORMATS, ReportFiles, build_report
    from storage import Database

    settings = load_or_exit(config_path)
    lang = settings.bot.language
    formats = FORMATS if fmt == "all" else (fmt,)
    folder, targets = _destination(settings, out, formats)

    async def go() -> ReportFiles:
        async with Database(settings.database.path) as db:
            await seed_dialogues(db, settings)
            with progress_bar(t("report.cli_progress", lang)) as progress:
                return await build_report(db, settings, dialogue_id, now=system_clock(), folder=folder,
                                          formats=formats, targets=targets, progress=progress)

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
