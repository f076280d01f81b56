"""``doithoai invitation``: the paper invitations of a dialogue, one page per hamlet, as Word (and PDF)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.i18n import t
from bot.staff import audit
from storage import database_at


@click.command("invitation")
@click.option("--dialogue", "dialogue_id", required=True, help="The dialogue id, e.g. tan-thuan-tay-2027.")
@click.option("--hamlet", "hamlet_id", default=None, help="One hamlet's id (default: every hamlet taking part).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The .docx file or a folder (default: the private exports folder next to the database).")
@click.option("--pdf", is_flag=True, help="Also print it to PDF (needs LibreOffice).")
@click.option("--bot-username", default=None,
              help="The bot's Telegram @name for the QR code (default: telegram.username in the config).")
@CONFIG_OPTION
def invitation(dialogue_id: str, hamlet_id: str | None, out: Path | None, pdf: bool, bot_username: str | None,
               config_path: Path) -> None:
    """Write the "Giấy mời" of a dialogue: when, where, what to bring and a QR code per hamlet."""
    from bot.cli.runtime import seed_dialogues
    from bot.core.clock import system_clock
    from bot.dialogues.service import DialogueError
    from bot.reports.invitation import file_name, make_invitations
    from bot.reports.pdf import to_pdf
    from bot.reports.report_files import exports_dir

    settings = load_or_exit(config_path)
    lang = settings.bot.language
    username = (bot_username or settings.telegram.username or "").lstrip("@") or None
    if username is None:
        click.echo(t("invitation.no_bot_username", lang), err=True)
    path = _target(out or exports_dir(settings), file_name(dialogue_id, hamlet_id))

    async def go() -> int:
        async with database_at(settings.database.target, files=settings.database.files) as db:
            await seed_dialogues(db, settings)
            pages = await make_invitations(db, settings, dialogue_id, path, hamlet_id=hamlet_id,
                                           bot_username=username, now=system_clock())
            await audit.record_cli(db, "invitation", dialogue_id, hamlet=hamlet_id or "")
            return pages

    try:
        pages = asyncio.run(go())
    except DialogueError as exc:
        click.echo(exc.text(lang), err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(t("report.cli_bad_out", lang, path=exc.filename or path, problem=exc.strerror), err=True)
        sys.exit(1)
    click.echo(t("invitation.written", lang, count=pages, path=path))
    if pdf:
        printed = to_pdf(path)
        click.echo(t("invitation.pdf_written", lang, path=printed) if printed else t("invitation.pdf_unavailable",
                                                                                   lang), err=printed is None)


def _target(out: Path, name: str) -> Path:
    """``--out`` is the file, unless it is a folder (existing, or written with a trailing slash)."""
    return out / name if out.is_dir() or str(out).endswith(("/", "\\")) else out
