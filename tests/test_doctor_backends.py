"""``doithoai doctor`` on either database: the Zalo OA's kept token pair is read from the database the config names
(PostgreSQL included, where there is no SQLite file to open), and the backups it counts are the ones that database
gets: ``doithoai backup``'s ``.sqlite3`` copies, or pg_dump's ``.dump`` files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.cli.doctor import OK, WARN, check_backups, check_zalo_oa
from bot.core.config import Settings
from storage import Database, zalo_oa_tokens
from storage.zalo_oa_tokens import TokenPair

BOTH_BACKENDS = True


def findings(check, settings: Settings) -> list[tuple[str, str, dict]]:
    return [(finding.level, finding.key, finding.values) for finding in check(settings)]


async def test_doctor_reads_the_official_accounts_token_pair_from_the_database_in_use(
        oa_settings: Settings, database: Database) -> None:
    before = await asyncio.to_thread(findings, check_zalo_oa, oa_settings)
    assert [(level, key) for level, key, _ in before] == [(WARN, "oa_no_tokens")]

    async with database.transaction() as conn:
        await zalo_oa_tokens.store(conn, TokenPair("access", "refresh", "2023-06-16T02:00:00+00:00", "seed"),
                                   "2023-06-15T02:00:00+00:00")

    after = await asyncio.to_thread(findings, check_zalo_oa, oa_settings)
    assert after == [(OK, "oa_ok", {"expires": "2023-06-16T02:00:00+00:00", "renewed": "2023-06-15T02:00:00+00:00"})]


async def test_doctor_counts_the_backups_the_database_in_use_makes(settings: Settings, database: Database,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    configured = settings.model_copy(update={"backup": settings.backup.model_copy(update={"folder": str(folder)})})
    postgres = settings.database.is_postgres
    other, own = (".sqlite3", ".dump") if postgres else (".dump", ".sqlite3")

    (folder / f"doithoai-2023-06-14{other}").write_bytes(b"not this database's kind of backup")
    none = findings(check_backups, configured)
    assert [(level, key) for level, key, _ in none] == [(WARN, "backup_none_pg" if postgres else "backup_none")]

    (folder / f"doithoai-2023-06-15{own}").write_bytes(b"a backup")
    found = findings(check_backups, configured)
    assert [(level, key) for level, key, _ in found] == [(OK, "backup_ok")]
    assert found[0][2]["path"] == folder / f"doithoai-2023-06-15{own}"
