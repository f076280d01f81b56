"""Logging set-up: one format, and secrets (bot tokens, webhook secrets) scrubbed from every record."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot.core.config import Settings


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's final message (and its traceback text) with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        scrubbed = self._scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class JsonLines(logging.Formatter):
    """One JSON object per line (``[logging] format = "json"``) for log collectors: time (UTC, ISO 8601), level,
    logger, message, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(settings: Settings | None, level: int | None = None) -> None:
    """Everything to stderr (journald and Docker read it), at ``[logging] level`` in ``[logging] format``, with the
    configured secrets scrubbed from every line."""
    handler = logging.StreamHandler()
    chosen = settings.logging if settings is not None else None
    handler.setFormatter(JsonLines() if chosen and chosen.format == "json" else logging.Formatter(PLAIN))
    if settings is not None:
        handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level is not None else getattr(logging, chosen.level) if chosen else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # httpx logs request URLs, which contain the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def secret_values(settings: Settings) -> list[str]:
    values = [settings.telegram.resolved_token(), settings.telegram.resolved_webhook_secret()]
    values += [settings.zalo.resolved_token(), settings.zalo.resolved_webhook_secret()]
    return [v for v in values if v]
