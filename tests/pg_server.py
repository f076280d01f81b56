"""A throwaway PostgreSQL for the tests: one cluster per test session, one fresh empty database per test.

The cluster lives in a private temporary folder (0700): ``initdb`` with trust authentication, the server listening
on a Unix socket only (no TCP port, so no clash), durability off (``fsync``, ``synchronous_commit``,
``full_page_writes``: tests only, never a real deployment). It is stopped (``pg_ctl stop -m immediate``) and its
folder removed when the session ends. PostgreSQL refuses to run as root: as root, the server runs as ``nobody``.

``DOITHOAI_TEST_POSTGRES=postgresql://user@host/db`` uses that server instead (any database the user may connect
to; the user must be allowed to create databases). No PostgreSQL binaries (looked for on PATH, then in Debian's
/usr/lib/postgresql/<version>/bin) or no asyncpg: the tests that need it are skipped with the reason, and fail in
CI (``CI=true``, whose ``.ci/run`` installs PostgreSQL).

Loaded as a plugin by tests/conftest.py (``pytest_plugins``): any test may ask for ``pg_url``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

T = TypeVar("T")
URL_ENV = "DOITHOAI_TEST_POSTGRES"
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
TOOLS = ("initdb", "pg_ctl", "postgres")
SERVER_USER = "nobody"    # when we are root: PostgreSQL will not run as root
SUPERUSER = "postgres"    # the cluster's superuser (initdb -U); trust authentication on its socket only
READY_TIMEOUT = 30.0      # seconds for a started server to accept connections
TEST_SETTINGS = ("listen_addresses=''", "fsync=off", "synchronous_commit=off", "full_page_writes=off",
                 "max_connections=200")
FAST_CREATE = "STRATEGY FILE_COPY"  # PostgreSQL 15+: ~0.04 s a database with fsync off, against ~0.23 s by WAL


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: PATH first (a symlink is followed to its real folder, where
    pg_ctl finds postgres), then the newest Debian /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    if DEBIAN_BINARIES.is_dir():
        versions = sorted(DEBIAN_BINARIES.glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
        candidates.extend(versions)
    for folder in candidates:
        if all((folder / tool).exists() for tool in TOOLS):
            return folder
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def missing() -> str | None:
    """Why PostgreSQL cannot be had for the tests (None when it can)."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed (pip install -e '.[test]')"
    if os.environ.get(URL_ENV):
        return None
    if binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql), nor is DOITHOAI_TEST_POSTGRES set"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no user {SERVER_USER!r} to run PostgreSQL as"
    return None


def with_database(url: str, name: str) -> str:
    """The same server's URL, naming another database (the query, e.g. ``?host=<socket folder>``, is kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` to completion from synchronous code, whether or not an event loop runs in this thread (a sync
    fixture may be set up from inside an async test's loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work())  # type: ignore[arg-type]
    answer: dict[str, Any] = {}

    def aside() -> None:
        try:
            answer["value"] = asyncio.run(work())  # type: ignore[arg-type]
        except BaseException as exc:  # handed back to the caller
            answer["error"] = exc

    thread = threading.Thread(target=aside, name="pg-admin")
    thread.start()
    thread.join()
    if "error" in answer:
        raise answer["error"]
    return answer["value"]


async def admin(url: str, *statements: str) -> None:
    """Run statements one by one outside any transaction (CREATE/DROP DATABASE cannot run inside one)."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _accepts(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on: ours (``folder`` set) or the one DOITHOAI_TEST_POSTGRES
    names. ``admin_url`` points at a database that always exists (``postgres``)."""

    admin_url: str
    folder: Path | None = None
    bin: Path | None = None
    started_in: float = 0.0          # seconds from initdb to the first accepted connection
    create_with: str = ""            # CREATE DATABASE's options on this server
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _template: str | None = None     # a database at this version's schema, no rows: copied for pg_migrated_url

    @classmethod
    def start(cls) -> PgServer:
        """initdb in a new private folder, start the server on a socket there, wait until it accepts connections."""
        bin_folder = binaries()
        if bin_folder is None:
            raise RuntimeError("no PostgreSQL binaries")
        began = time.monotonic()
        folder = Path(tempfile.mkdtemp(prefix="doithoai-pg-"))  # 0700, ours
        server = cls(admin_url=f"postgresql://{SUPERUSER}@/postgres?host={folder / 'socket'}", folder=folder,
                     bin=bin_folder, create_with=FAST_CREATE)
        try:
            server._initdb()
            server._pg_ctl("start", "-W", "-l", str(folder / "server.log"), "-o", server._options())
            server._wait_ready(began)
        except BaseException:
            server.stop()
            raise
        server.started_in = time.monotonic() - began
        return server

    @classmethod
    def external(cls, url: str) -> PgServer:
        return cls(admin_url=url)

    @property
    def data(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def _as_server_user(self) -> dict[str, Any]:
        """subprocess arguments that run a tool as the server's user (ourselves unless we are root)."""
        if os.geteuid() != 0:
            return {}
        return {"user": SERVER_USER, "group": pwd.getpwnam(SERVER_USER).pw_gid, "extra_groups": []}

    def _run(self, *command: str) -> None:
        assert self.folder is not None
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"}, **self._as_server_user())
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()}"
                               f"{self._log_tail()}")

    def _initdb(self) -> None:
        assert self.folder is not None
        (self.folder / "socket").mkdir(mode=0o700)
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            for path in (self.folder, self.folder / "socket"):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                  "--no-locale", "--no-sync", "--no-instructions")

    def _options(self) -> str:
        settings = " ".join(f"-c {setting}" for setting in TEST_SETTINGS)
        return f"-k {self.folder / 'socket'} {settings}"

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), *args)

    def _wait_ready(self, began: float) -> None:
        while not run_async(lambda: _accepts(self.admin_url)):
            if time.monotonic() - began > READY_TIMEOUT:
                raise RuntimeError(f"PostgreSQL did not accept connections within {READY_TIMEOUT:.0f} s"
                                   f"{self._log_tail()}")
            time.sleep(0.05)  # polling a process we started: there is no event to wait on

    def _log_tail(self) -> str:
        log = self.folder / "server.log" if self.folder else None
        if log is None or not log.exists():
            return ""
        return "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])

    def stop(self) -> None:
        """Stop our server at once (nothing in it is worth a clean shutdown) and remove its folder."""
        if self.folder is None:
            return
        if (self.data / "postmaster.pid").exists():
            try:
                self._pg_ctl("stop", "-m", "immediate", "-w")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass  # removing the folder is all that is left to do
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self, template: str | None = None) -> str:
        """A fresh database, empty or a copy of ``template`` (a database name); its URL."""
        name = f"t_{os.getpid()}_{next(self._names)}"
        source = f'TEMPLATE "{template}"' if template else ""
        run_async(lambda: admin(self.admin_url, f'CREATE DATABASE "{name}" {source} {self.create_with}'))
        return with_database(self.admin_url, name)

    def new_migrated_database(self) -> str:
        """A fresh database already at this version's schema (no rows): a copy of one migrated once per session,
        ~0.1 s against ~0.3 s for an empty one migrated by its first opening."""
        if self._template is None:
            url = self.new_database()
            run_async(lambda: _migrated(url))
            self._template = urlsplit(url).path.lstrip("/")
        return self.new_database(self._template)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        run_async(lambda: admin(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_template(self) -> None:
        if self._template is not None:
            self.drop_database(with_database(self.admin_url, self._template))
            self._template = None


async def _migrated(url: str) -> None:
    """Open (so migrate) and close, leaving no connection behind (a template must have none)."""
    from storage import database_at

    async with database_at(url):
        pass


def need_postgres() -> None:
    """Skip the test with the reason when PostgreSQL cannot be had; in CI, fail instead."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL: DOITHOAI_TEST_POSTGRES's, or a throwaway cluster started on first use."""
    need_postgres()
    external = os.environ.get(URL_ENV)
    if external:
        server = PgServer.external(external)
        try:
            yield server
        finally:
            server.drop_template()
        return
    server = PgServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database of its own for this test (``postgresql://postgres@/t_<pid>_<n>?host=<socket>``),
    dropped after it."""
    url = pg_server.new_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture
def pg_migrated_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh database of its own, already at this version's schema with no rows (what ``database_at`` would make
    of ``pg_url`` on opening, three times faster), dropped after the test."""
    url = pg_server.new_migrated_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)
