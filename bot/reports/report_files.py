"""Where report files go: readable by the bot's user only (0600) in a private folder (0700) by the database.

A file is written under a temporary name and renamed when complete, so a half-written report is never sent and
never replaces a good one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from bot.core.config import Settings

FILE_MODE = 0o600
DIR_MODE = 0o700


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
