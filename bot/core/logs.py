"""Logging set-up: one format, and secrets (bot tokens, webhook secrets) scrubbed from every record."""

from __future__ import annotations

import logging

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


def setup_logging(settings: Settings | None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if settings is not None:
        handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # httpx logs request URLs, which contain the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def secret_values(settings: Settings) -> list[str]:
    values = [settings.telegram.resolved_token(), settings.telegram.resolved_webhook_secret()]
    values += [settings.zalo.resolved_token(), settings.zalo.resolved_webhook_secret()]
    return [v for v in values if v]
