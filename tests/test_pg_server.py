"""The throwaway PostgreSQL of the tests (tests/pg_server.py): each test gets a working, empty database of its own,
on a cluster whose folder only its server's user can read; without PostgreSQL the tests skip, in CI they fail."""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
from pathlib import Path

import pytest

from tests import pg_server
from tests.pg_server import PgServer, need_postgres, with_database

SEEN: list[str] = []  # the databases earlier tests of this module were given


async def tables(url: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        return [row["table_name"] for row in rows]
    finally:
        await conn.close()


@pytest.mark.parametrize("which", ["first", "second"])
async def test_every_test_gets_its_own_empty_working_database(pg_url: str, which: str) -> None:
    import asyncpg

    assert await tables(pg_url) == []
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("CREATE TABLE marker (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, word TEXT)")
        await conn.execute("INSERT INTO marker (word) VALUES ($1)", f"Nhà ông Bảy — {which}")
        assert await conn.fetchval("SELECT word FROM marker") == f"Nhà ông Bảy — {which}"
    finally:
        await conn.close()
    assert pg_url not in SEEN
    for earlier in SEEN:  # an earlier test's database was dropped after it: nothing of it is left to see
        with pytest.raises(asyncpg.InvalidCatalogNameError):
            await tables(earlier)
    SEEN.append(pg_url)


async def test_server_speaks_on_a_socket_only_with_durability_off(pg_server: PgServer, pg_url: str) -> None:
    import asyncpg

    if pg_server.folder is None:
        pytest.skip("DOITHOAI_TEST_POSTGRES names a server we did not start")
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SHOW listen_addresses") == ""
        assert await conn.fetchval("SHOW fsync") == "off"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        assert int(await conn.fetchval("SHOW server_version_num")) >= 150000
    finally:
        await conn.close()


def test_cluster_folder_is_private(pg_server: PgServer) -> None:
    if pg_server.folder is None:
        pytest.skip("DOITHOAI_TEST_POSTGRES names a server we did not start")
    owner = pwd.getpwnam(pg_server_user()).pw_uid
    for folder in (pg_server.folder, pg_server.data, pg_server.folder / "socket"):
        info = folder.stat()
        assert stat.S_IMODE(info.st_mode) == 0o700, folder
        assert info.st_uid == owner, folder


def pg_server_user() -> str:
    return pg_server.SERVER_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def test_binaries_are_found_in_debians_folder_when_not_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not debian:
        pytest.skip("no Debian PostgreSQL under /usr/lib/postgresql")
    monkeypatch.setenv("PATH", "/nonexistent")
    found = pg_server.binaries()
    assert found is not None and found.parent.parent == Path("/usr/lib/postgresql")
    assert all((found / tool).exists() for tool in pg_server.TOOLS)


def test_without_postgresql_the_tests_skip_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server, "binaries", lambda: None)
    monkeypatch.delenv(pg_server.URL_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        need_postgres()


def test_without_postgresql_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server, "binaries", lambda: None)
    monkeypatch.delenv(pg_server.URL_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        need_postgres()


def test_a_database_url_keeps_the_socket_folder() -> None:
    assert with_database("postgresql://postgres@/postgres?host=/tmp/x/socket", "t_1_2") == \
        "postgresql://postgres@/t_1_2?host=/tmp/x/socket"
    assert with_database("postgresql://u:p@db.example:5433/postgres", "t_9") == "postgresql://u:p@db.example:5433/t_9"


async def test_a_migrated_database_has_every_table_no_row_and_nothing_left_to_migrate(pg_migrated_url: str,
                                                                                       pg_url: str) -> None:
    from storage import database_at, pending_migrations
    from storage.copy import row_count, table_names

    assert await tables(pg_url) == []
    assert await asyncio.to_thread(pending_migrations, pg_migrated_url) == []
    async with database_at(pg_migrated_url) as db, db.reading() as conn:
        names = await table_names(conn, "postgresql")
        assert {"persons", "identities", "submissions", "outbox"} <= set(names)
        rows = {name: await row_count(conn, name) for name in names if name != "schema_migrations"}
    assert set(rows.values()) == {0}
