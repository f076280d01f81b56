"""``doithoai doctor``: what an IT officer checks when the bot misbehaves, each with what to do about it.

The config, the database (sound, private, migrated), each channel's token asked of the platform (getMe), the
Telegram webhook's registration, the free disk space and the age of the newest backup. One line each, in the
configured language: ✅ fine, ⚠️ worth a look, ❌ must be fixed (then the exit status is 1). Tokens never appear in
what it prints.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bot.cli.common import CONFIG_OPTION, load_or_exit
from bot.core.config import Settings
from bot.core.i18n import t

OK, WARN, FAIL = "✅", "⚠️", "❌"
DISK_WARN_MB, DISK_FAIL_MB = 1024, 200
BACKUP_WARN_DAYS = 2


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    key: str                  # doctor.<key> in the catalogue
    values: dict[str, Any]


Check = Callable[[Settings], Iterator[Finding]]


@click.command()
@CONFIG_OPTION
def doctor(config_path: Path) -> None:
    """Check the config, the database, the channels' tokens and webhook, disk space and backups."""
    settings = load_or_exit(config_path)
    lang = settings.bot.language
    click.echo(t("doctor.title", lang, config=config_path))
    findings = [finding for check in CHECKS for finding in check(settings)]
    for finding in findings:
        click.echo(f"{finding.level} {t(f'doctor.{finding.key}', lang, **finding.values)}")
    failures = sum(f.level == FAIL for f in findings)
    warnings = sum(f.level == WARN for f in findings)
    click.echo(t("doctor.summary", lang, failures=failures, warnings=warnings))
    sys.exit(1 if failures else 0)


def check_config(settings: Settings) -> Iterator[Finding]:
    yield Finding(OK, "config_ok", {"hamlets": len(settings.hamlets()),
                                    "topics": sum(len(f.topics) for f in settings.fields)})


def check_database(settings: Settings) -> Iterator[Finding]:
    from storage import DatabaseUnusable, pending_migrations
    from storage.db import loose_permissions

    if settings.database.is_postgres:
        yield from _check_postgres(settings.database.url)
        return
    path = Path(settings.database.path)
    if not path.exists():
        yield Finding(WARN, "db_missing", {"path": path})
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        pending = pending_migrations(path)
    except (sqlite3.DatabaseError, DatabaseUnusable) as exc:
        detail = exc.detail if isinstance(exc, DatabaseUnusable) else exc
        yield Finding(FAIL, "db_unreadable", {"path": path, "detail": detail})
        return
    if verdict != "ok":
        yield Finding(FAIL, "db_damaged", {"path": path, "detail": verdict})
    else:
        yield Finding(OK, "db_ok", {"path": path})
    if pending:
        yield Finding(WARN, "db_pending", {"count": len(pending), "names": ", ".join(pending)})
    for loose in loose_permissions(path):
        yield Finding(FAIL, "db_loose", {"path": loose, "mode": "700" if Path(loose).is_dir() else "600"})


def _check_postgres(url: str) -> Iterator[Finding]:
    """PostgreSQL: it answers (with the password from the environment), and its pending migrations."""
    from storage import DatabaseUnusable, pending_migrations
    from storage.pg import redacted

    try:
        pending = pending_migrations(url)
    except Exception as exc:  # any failure to connect (refused, no such database, password) is the finding
        detail = exc.detail if isinstance(exc, DatabaseUnusable) else str(exc).splitlines()[0]
        yield Finding(FAIL, "db_unreadable", {"path": redacted(url), "detail": detail})
        return
    yield Finding(OK, "db_ok", {"path": redacted(url)})
    if pending:
        yield Finding(WARN, "db_pending", {"count": len(pending), "names": ", ".join(pending)})


def check_telegram(settings: Settings) -> Iterator[Finding]:
    token = settings.telegram.resolved_token()
    if not token:
        yield Finding(OK, "telegram_off", {})
        return
    from handlers.probe import bot_api  # httpx loads only when the doctor asks a platform

    base = settings.telegram.base_url
    result = bot_api(base, token, "getMe")
    if result.get("error"):
        yield Finding(FAIL, "telegram_unreachable", {"detail": result["error"]})
        return
    if not result.get("ok"):
        yield Finding(FAIL, "telegram_token_refused", {"detail": result.get("description", "")})
        return
    yield Finding(OK, "telegram_ok", {"username": result["result"].get("username", "?")})
    yield from _webhook(settings, bot_api(base, token, "getWebhookInfo").get("result") or {})


def _webhook(settings: Settings, info: dict[str, Any]) -> Iterator[Finding]:
    registered = info.get("url") or ""
    if settings.telegram.mode == "polling":
        yield Finding(WARN if registered else OK, "webhook_set_while_polling" if registered else "polling",
                      {"url": registered})
        return
    wanted = settings.telegram.webhook_url or ""
    if registered != wanted:
        yield Finding(FAIL, "webhook_mismatch", {"registered": registered or "—", "wanted": wanted})
    elif info.get("last_error_message"):
        yield Finding(WARN, "webhook_error", {"url": registered, "detail": info["last_error_message"],
                                              "pending": info.get("pending_update_count", 0)})
    else:
        yield Finding(OK, "webhook_ok", {"url": registered, "pending": info.get("pending_update_count", 0)})


def check_zalo(settings: Settings) -> Iterator[Finding]:
    token = settings.zalo.resolved_token()
    if not settings.zalo.configured or not token:
        return
    from handlers.probe import bot_api

    result = bot_api(settings.zalo.base_url, token, "getMe")
    if result.get("error"):
        yield Finding(FAIL, "zalo_unreachable", {"detail": result["error"]})
    elif not result.get("ok"):
        yield Finding(FAIL, "zalo_token_refused", {"detail": result.get("description", "")})
    else:
        yield Finding(OK, "zalo_ok", {"name": (result.get("result") or {}).get("account_name", "?")})


def check_zalo_oa(settings: Settings) -> Iterator[Finding]:
    """The OA has no getMe: its secrets must be set, and the token pair the bot keeps (renewed by itself) must
    exist once the bot has run; without one, access must be granted (docs/zalo.md)."""
    config = settings.zalo_oa
    if not config.configured:
        return
    missing = config.missing()
    if missing:
        yield Finding(FAIL, "oa_missing", {"names": ", ".join(missing)})
        return
    renewal = _oa_renewal(settings)
    if renewal is None:
        yield Finding(WARN, "oa_no_tokens", {})
    else:
        yield Finding(OK, "oa_ok", {"expires": renewal[0], "renewed": renewal[1]})


def _oa_renewal(settings: Settings) -> tuple[str, str] | None:
    """The kept token pair's times, read from whichever database the config names (never created nor migrated
    here: a database that is missing or cannot be read has its own finding above)."""
    from storage import read_snapshot
    from storage.zalo_oa_tokens import renewal

    if not settings.database.is_postgres and not Path(settings.database.path).exists():
        return None
    try:
        return read_snapshot(settings.database.target, renewal)
    except Exception:  # unreachable, damaged, or not migrated yet (no such table): check_database says which
        return None


def check_disk(settings: Settings) -> Iterator[Finding]:
    folder = Path(settings.database.path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free_mb = shutil.disk_usage(folder).free / 2**20
    level = FAIL if free_mb < DISK_FAIL_MB else WARN if free_mb < DISK_WARN_MB else OK
    yield Finding(level, "disk", {"folder": folder, "free": f"{free_mb / 1024:,.1f}"})


def check_backups(settings: Settings) -> Iterator[Finding]:
    """SQLite's backups are ``doithoai backup --nightly``'s; PostgreSQL's are pg_dump's ``.dump`` files, which the
    guide's nightly job writes into the same folder."""
    from bot.datacare.backups import latest

    postgres = settings.database.is_postgres
    kind = "_pg" if postgres else ""
    newest = latest(settings.backup.folder, ".dump" if postgres else ".sqlite3")
    if newest is None:
        yield Finding(WARN, f"backup_none{kind}", {"folder": settings.backup.folder})
        return
    days = (time.time() - newest.stat().st_mtime) / 86400
    level = WARN if days > BACKUP_WARN_DAYS else OK
    key = f"backup_old{kind}" if level == WARN else "backup_ok"
    yield Finding(level, key, {"path": newest, "days": f"{days:.1f}"})


CHECKS: list[Check] = [check_config, check_database, check_telegram, check_zalo, check_zalo_oa, check_disk,
                       check_backups]
