"""Building the engine: the capabilities it serves and the channels' facts it needs, all given up front.

Tests, benchmarks and the CLI build an engine here; nothing sets attributes on it afterwards.
"""

from __future__ import annotations

from typing import Any

from bot.core.config import Settings
from bot.core.engine import Engine
from storage import Database


def build_engine(settings: Settings, db: Database, **options: Any) -> Engine:
    """An engine serving every capability of the application (the keyword options go to ``Engine``)."""
    return Engine(settings, db, **options)
