"""A PostgreSQL database's backup: ``pg_dump`` in its custom format (compressed; ``pg_restore`` reads it), written to
an owner-only file under a temporary name and renamed only once whole, so a failed or killed dump never looks like a
backup. The password comes from ``PGPASSWORD`` or ``~/.pgpass`` as for every PostgreSQL tool (the config's URL never
holds one), and ``pg_dump`` is told never to ask for it: a timer has nobody to answer."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

DEBIAN_BINARIES = Path("/usr/lib/postgresql")  # Debian's versioned folders, not on PATH without postgresql-client
FILE_MODE = 0o600


class DumpUnavailable(RuntimeError):
    """No ``pg_dump`` on this machine (Debian: ``apt install postgresql-client``)."""


class DumpFailed(RuntimeError):
    """``pg_dump`` ran and failed; the message is its first line of complaint."""


def pg_dump_program() -> str | None:
    """``pg_dump`` on PATH, else the newest of Debian's ``/usr/lib/postgresql/<version>/bin`` (a newer pg_dump reads
    an older server; an older one refuses a newer server)."""
    found = shutil.which("pg_dump")
    if found:
        return found
    versions = [p for p in DEBIAN_BINARIES.glob("*/bin/pg_dump") if p.parent.parent.name.isdigit()]
    newest = max(versions, key=lambda p: int(p.parent.parent.name), default=None)
    return str(newest) if newest else None


async def dump(url: str, target: Path) -> int:
    """Write the database at ``url`` to ``target`` (owner-only); returns its size in bytes. A command-line act, never
    on the bot's loop: the file operations around pg_dump are the CLI's to wait for."""
    program = pg_dump_program()
    if program is None:
        raise DumpUnavailable("pg_dump")
    partial, descriptor = _open_partial(target)
    try:
        with os.fdopen(descriptor, "wb") as out:
            process = await asyncio.create_subprocess_exec(
                program, "--format=custom", "--no-password", "--dbname", url,
                stdout=out, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
            _, complaint = await process.communicate()
        if process.returncode != 0:
            raise DumpFailed(_first_line(complaint.decode(errors="replace")))
        return _finish(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _open_partial(target: Path) -> tuple[Path, int]:
    """``<target>.partial``, new and owner-only from its first byte (a killed dump's leftover is removed first, never
    reused with whatever mode it had)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    return partial, os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)


def _finish(partial: Path, target: Path) -> int:
    os.replace(partial, target)
    return target.stat().st_size


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "pg_dump failed"
