"""Where report files go: readable by the bot's user only (0600) in a private folder (0700) by the database.

A file is written under a temporary name and renamed when complete, so a half-written report is never sent and
never replaces a good one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from bot.core.config import Settings

FILE_MODE = 0o600
DIR_MODE = 0o700


def use_private_temp(settings: Settings) -> Path:
    """Make every temporary file of this process go to ``exports/tmp/<pid>`` (0700), and remove the folders of
    processes that are gone.

    The spreadsheet library streams rows (names, phones) to temporary files; in the system's temp folder a killed
    export would leave them readable and out of reach of purge and /forget. Set once at start (``tempfile.tempdir``
    is process-wide, and the stdlib and libraries read it)."""
    root = exports_dir(settings) / "tmp"
    root.mkdir(mode=DIR_MODE, exist_ok=True)
    for leftover in root.iterdir():
        if leftover.is_dir() and leftover.name.isdigit() and not _alive(int(leftover.name)):
            shutil.rmtree(leftover, ignore_errors=True)
    mine = root / str(os.getpid())
    mine.mkdir(mode=DIR_MODE, exist_ok=True)
    tempfile.tempdir = str(mine)
    atexit.register(shutil.rmtree, mine, True)
    return mine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def exports_dir(settings: Settings) -> Path:
    """``<database folder>/exports``, created private (and made private again if someone opened it up)."""
    folder = Path(settings.database.path).resolve().parent / "exports"
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    folder.chmod(DIR_MODE)
    return folder


@contextlib.contextmanager
def private_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: created 0600, renamed into place only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)   # O_CREAT's mode does not apply to a leftover file of the same name
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
