"""``doithoai migrate-db --from sqlite:///old.sqlite3 --to postgresql://...``: a commune that grows moves its data
to PostgreSQL (or back) in one command.

Both databases are opened with ``storage.database_at`` (the target is created and migrated by opening it); the
source must be at this version already (``doithoai migrate`` first, which keeps a copy), the target empty. The copy
itself is ``storage.copy``: every table, parents first, in batches, in one transaction on the target. A bar on
stderr shows the rows as they go (hidden when stderr is not a terminal) and a line per table says what was copied;
then the rows of every table are counted on both ends and printed. Exit 0 when they all match, 1 when one does not,
2 when nothing was copied (target not empty, versions differ, source missing).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from bot.core.i18n import LANGUAGES, t
from storage import database_at, pending_migrations
from storage.backends import is_postgres, sqlite_path
from storage.copy import BATCH, CopyFailed, CopyRefused, Counted, Plan, Progress, copy_rows, counts, plan
from storage.pg import redacted


@click.command("migrate-db")
@click.option("--from", "source", required=True, metavar="URL",
              help="The database to copy: sqlite:///path/doithoai.sqlite3 (or the file's path).")
@click.option("--to", "target", required=True, metavar="URL",
              help="The new, empty database: postgresql://user@host/db (the password from PGPASSWORD).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="vi", show_default=True,
              help="The language of the messages.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=BATCH, show_default=True,
              help="Rows read and written together.")
def migrate_db(source: str, target: str, lang: str, batch: int) -> None:
    """Copy every row of one database into a new, empty one (SQLite to PostgreSQL as a commune grows)."""
    refuse_unready_source(source, target, lang)
    results = asyncio.run(migrate(source, target, lang, batch))
    report(results, target, lang)


def refuse_unready_source(source: str, target: str, lang: str) -> None:
    """Nothing is opened when the source is missing, is the target itself, or waits for migrations (opening it
    would change it without the copy ``doithoai migrate`` takes first)."""
    if not is_postgres(source) and not Path(sqlite_path(source)).is_file():
        stop(t("cli.migrate_db_source_missing", lang, source=redacted(source)))
    if source == target or (not is_postgres(source) and not is_postgres(target)
                            and Path(sqlite_path(source)).resolve() == Path(sqlite_path(target)).resolve()):
        stop(t("cli.migrate_db_same", lang, source=redacted(source)))
    pending = pending_migrations(source)
    if pending:
        stop(t("cli.migrate_db_source_pending", lang, source=redacted(source), count=len(pending)))


async def migrate(source: str, target: str, lang: str, batch: int) -> list[Counted]:
    from bot.staff.audit import record_cli

    async with database_at(source) as src, database_at(target) as dst:
        try:
            planned = await plan(src, dst)
        except CopyRefused as refused:
            stop(t(f"cli.migrate_db_{refused.reason}", lang, target=redacted(target), detail=refused.detail))
        total = sum(planned.rows.values())
        click.echo(t("cli.migrate_db_start", lang, rows=number(total, lang), tables=len(planned.tables),
                     source=redacted(source), target=redacted(target)), err=True)
        try:
            with progress_lines(planned, lang) as progress:
                await copy_rows(src, dst, planned, batch=batch, progress=progress)
        except CopyFailed as failed:
            stop(t("cli.migrate_db_failed", lang, table=failed.table, detail=failed.detail))
        results = await counts(src, dst, planned.tables)
        await record_cli(dst, "migrate_db", redacted(source), tables=len(results),
                         rows=sum(row.target for row in results))
    return results


@contextmanager
def progress_lines(planned: Plan, lang: str) -> Iterator[Progress]:
    """A bar over all the rows on stderr (tqdm; hidden when stderr is not a terminal), and one plain line per table
    when it is copied."""
    from tqdm import tqdm

    unit = t("cli.migrate_db_unit", lang)
    copied: dict[str, int] = {}
    with tqdm(total=sum(planned.rows.values()), unit=f" {unit}", disable=None, leave=False) as bar:

        def update(table: str, done: int, total: int) -> None:
            bar.set_description(table, refresh=False)
            bar.update(done - copied.get(table, 0))
            copied[table] = done
            if done == total:
                bar.clear()
                click.echo(t("cli.migrate_db_table", lang, table=table, rows=number(done, lang)), err=True)
                bar.refresh()

        yield update


def report(results: list[Counted], target: str, lang: str) -> None:
    """The rows of every table on both ends; exit 1 when a table's differ."""
    click.echo(t("cli.migrate_db_counts", lang))
    width = max((len(row.table) for row in results), default=0)
    for row in results:
        mark = "" if row.equal else " ≠"
        click.echo(f"  {row.table.ljust(width)}  {number(row.source, lang):>9}  {number(row.target, lang):>9}{mark}")
    wrong = [row.table for row in results if not row.equal]
    if wrong:
        click.echo(t("cli.migrate_db_mismatch", lang, tables=", ".join(wrong)), err=True)
        sys.exit(1)
    click.echo(t("cli.migrate_db_done", lang, rows=number(sum(row.target for row in results), lang),
                 tables=len(results), target=redacted(target)))


def number(value: int, lang: str) -> str:
    """1.234 in Vietnamese, 1,234 in English."""
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "vi" else text


def stop(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(2)
