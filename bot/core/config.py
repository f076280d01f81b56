"""Configuration: TOML validated by pydantic.

A bad config must stop the start with one message that names the key (e.g. ``units[0].children[2].id``),
so an officer editing the file by hand can find the line. Secrets come from the environment first.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterator
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.i18n import LANGUAGES, t

TOKEN_ENV = "DOITHOAI_TELEGRAM_TOKEN"
WEBHOOK_SECRET_ENV = "DOITHOAI_WEBHOOK_SECRET"
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


class Problem(ValueError):
    """What is wrong with a value, as a catalogue key (``config.*``) and its values, so it reads in any language."""

    def __init__(self, message_key: str, /, *, at: str = "", **values: object) -> None:
        super().__init__(t(message_key, "en", **values))
        self.key = message_key
        self.values = values
        self.at = at  # where in the file, when the check runs above the key itself (a whole-config check)

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.values)


class ConfigError(Exception):
    """Raised with a message that names the offending key (or the file, when it cannot be read at all).

    ``language`` is the one the config asks for when it could be read that far: the error is told in it."""

    def __init__(self, key: str, problem: str | Problem, *, file: bool = False, language: str = "vi") -> None:
        text = problem.text("en") if isinstance(problem, Problem) else problem
        super().__init__(f"{key}: {text}")
        self.key = key
        self.problem = text
        self.detail = problem
        self.file = file
        self.language = language

    def text(self, lang: str | None = None) -> str:
        lang = lang or self.language
        problem = self.detail.text(lang) if isinstance(self.detail, Problem) else self.detail
        return t("cli.config_file_error" if self.file else "cli.config_error", lang, key=self.key, problem=problem)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(_Strict):
    name: str = "Đối thoại chính sách giảm nghèo"
    timezone: str = "Asia/Ho_Chi_Minh"
    language: Literal["vi", "en"] = "vi"
    admins: list[int] = Field(default_factory=list)
    max_text_length: int = Field(default=3000, ge=100, le=4000)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise Problem("config.unknown_timezone", value=value) from exc
        return value


class DatabaseSection(_Strict):
    """Where the data lives. ``path``: the SQLite file (the default; its folder also holds exports and files).
    ``url``: ``sqlite:///path``, or ``postgresql://user@host/db`` for several workers sharing one database (the
    password from ``PGPASSWORD`` or the environment file, never in this file)."""

    path: str = "doithoai.sqlite3"
    url: str = ""

    @field_validator("url")
    @classmethod
    def _known_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise Problem("config.database_url", value=value)
        if value.startswith(("postgresql://", "postgres://")) and urlsplit(value).password:
            raise Problem("config.database_password")
        return value

    @property
    def target(self) -> str:
        """What ``storage.database_at`` opens: the URL when one is set, else the file."""
        if self.url.startswith("sqlite:///"):
            return self.path
        return self.url or self.path

    @property
    def files(self) -> Path:
        """The folder of the files kept beside the data (media, exports, announcements' files)."""
        return Path(self.path).parent

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgresql://", "postgres://"))


class BackupSection(_Strict):
    """Nightly backups (``doithoai backup --nightly``, run by the systemd timer or cron) and before upgrades."""

    folder: str = ""                               # default: "backups" next to the database
    keep_days: int = Field(default=14, ge=1, le=3650)


class LoggingSection(_Strict):
    """Log lines go to stderr (journald and Docker collect them); never a token, a secret or a household's text."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["plain", "json"] = "plain"


class DigestSection(_Strict):
    """The daily digest of new questions to officers, organizers and administrators."""

    enabled: bool = True
    time: str = "17:00"             # local time, "HH:MM"

    @field_validator("time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> str:
        if isinstance(value, time_of_day):  # TOML's own local time: time = 17:00:00
            return f"{value.hour:02d}:{value.minute:02d}"
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise Problem("config.bad_time_of_day")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.time.split(":")
        return int(hour), int(minute)


class TelegramSection(_Strict):
    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    username: str | None = None          # the bot's @name for printed invitations (at run time it asks Telegram)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "telegram"
    webhook_secret: SecretStr | None = None
    poll_timeout: int = Field(default=10, ge=0, le=60)
    send_rate: float = Field(default=30.0, gt=0, le=1000)          # messages per second, whole bot
    per_chat_interval: float = Field(default=1.0, ge=0, le=60)     # seconds between two messages to one chat
    max_attempts: int = Field(default=5, ge=1, le=50)              # before a message is given up as failed

    @field_validator("username")
    @classmethod
    def _without_at(cls, value: str | None) -> str | None:
        return value.strip().lstrip("@") or None if value else None

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSection:
        if self.mode == "webhook" and not self.webhook_url:
            raise Problem("config.webhook_needs_url", setting="telegram.webhook_url")
        return self

    def resolved_token(self) -> str | None:
        env = os.environ.get(TOKEN_ENV, "").strip()
        if env:
            return env
        return self.token.get_secret_value() if self.token else None

    def resolved_webhook_secret(self) -> str | None:
        env = os.environ.get(WEBHOOK_SECRET_ENV, "").strip()
        if env:
            return env
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None


WEB_PORT_ENV = "DOITHOAI_WEB_PORT"


class WebSection(_Strict):
    """The one HTTP server of ``doithoai run``: the web desk, the webhooks, /healthz (behind nginx)."""

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None   # how staff reach the desk, e.g. "https://doithoai.example.vn" (sign-in links)
    max_body_kb: int = Field(default=20_000, ge=64, le=200_000)  # the largest form a page may post (paper forms)

    def resolved_port(self) -> int:
        env = os.environ.get(WEB_PORT_ENV, "").strip()
        return int(env) if env.isdigit() else self.port

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.listen}:{self.resolved_port()}").rstrip("/")


ZALO_TOKEN_ENV = "DOITHOAI_ZALO_TOKEN"
ZALO_WEBHOOK_SECRET_ENV = "DOITHOAI_ZALO_WEBHOOK_SECRET"


class ZaloSection(_Strict):
    """The Zalo Bot Platform channel (see docs/zalo.md); it runs when enabled and a token is set."""

    enabled: bool = True
    token: SecretStr | None = None
    base_url: str = "https://bot-api.zaloplatforms.com/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8444, ge=1, le=65535)
    webhook_path: str = "zalo"
    webhook_secret: SecretStr | None = None
    poll_timeout: int = Field(default=30, ge=1, le=60)
    send_rate: float = Field(default=10.0, gt=0, le=1000)         # messages per second, whole bot
    per_chat_interval: float = Field(default=1.0, ge=0, le=60)    # seconds between two messages to one chat
    max_attempts: int = Field(default=5, ge=1, le=50)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 8 <= len(value.get_secret_value()) <= 256:
            raise Problem("config.zalo_secret_length")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> ZaloSection:
        if self.mode == "webhook" and not self.webhook_url:
            raise Problem("config.webhook_needs_url", setting="zalo.webhook_url")
        return self

    def resolved_token(self) -> str | None:
        env = os.environ.get(ZALO_TOKEN_ENV, "").strip()
        if env:
            return env
        return self.token.get_secret_value() if self.token else None

    def resolved_webhook_secret(self) -> str | None:
        env = os.environ.get(ZALO_WEBHOOK_SECRET_ENV, "").strip()
        if env:
            return env
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    @property
    def configured(self) -> bool:
        return self.enabled and bool(self.resolved_token())


ZALO_OA_APP_SECRET_ENV = "DOITHOAI_ZALO_OA_APP_SECRET"
ZALO_OA_SECRET_KEY_ENV = "DOITHOAI_ZALO_OA_SECRET_KEY"
ZALO_OA_REFRESH_TOKEN_ENV = "DOITHOAI_ZALO_OA_REFRESH_TOKEN"
# What a ZNS template's parameters may be filled from (``[zalo_oa.zns.reminder] params = {ten = "name"}``).
ZNS_FIELDS = ("name", "title", "time", "date", "place", "deadline", "change", "code", "phone")
ZNS_KINDS = ("reminder", "notice")  # the outbox kinds that can go by ZNS: reminders, change notices


class ZnsTemplate(_Strict):
    """A ZNS template Zalo approved: its id, and which of our fields fills each of its parameters."""

    template_id: str = Field(min_length=1, max_length=64)
    params: dict[str, str] = Field(min_length=1)

    @field_validator("params")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for param, ours in value.items():
            if ours not in ZNS_FIELDS:
                raise Problem("zalo_oa.config_unknown_field", param=param, field=ours, known=", ".join(ZNS_FIELDS))
        return value


def _env_or(env: str, value: SecretStr | None) -> str | None:
    found = os.environ.get(env, "").strip()
    if found:
        return found
    return value.get_secret_value() if value else None


class ZaloOASection(_Strict):
    """The Zalo Official Account channel (see docs/zalo.md): runs when ``app_id`` and ``oa_id`` are set; the secrets
    and the first refresh token come from the environment."""

    enabled: bool = True
    app_id: str | None = Field(default=None, pattern=r"^\d{1,32}$")
    oa_id: str | None = Field(default=None, pattern=r"^\d{1,32}$")
    app_secret: SecretStr | None = None      # better: DOITHOAI_ZALO_OA_APP_SECRET
    secret_key: SecretStr | None = None      # the OA secret key that signs webhook events: DOITHOAI_ZALO_OA_SECRET_KEY
    refresh_token: SecretStr | None = None   # the first grant only: DOITHOAI_ZALO_OA_REFRESH_TOKEN
    api_url: str = "https://openapi.zalo.me"
    oauth_url: str = "https://oauth.zaloapp.com"
    zns_url: str = "https://business.openapi.zalo.me"
    webhook_path: str = "zalo-oa"          # served by the one HTTP server ([web])
    refresh_ahead: int = Field(default=600, ge=0, le=86400)     # seconds before expiry the access token is renewed
    window_hours: float = Field(default=48.0, gt=0, le=24 * 30)
    free_messages: int = Field(default=8, ge=0, le=1000)         # consultation messages per window
    proactive_monthly: int = Field(default=0, ge=0, le=1_000_000)  # proactive messages a month (0: none)
    max_buttons: int = Field(default=5, ge=1, le=10)
    send_rate: float = Field(default=5.0, gt=0, le=1000)
    per_chat_interval: float = Field(default=1.0, ge=0, le=60)
    max_attempts: int = Field(default=5, ge=1, le=50)
    zns: dict[str, ZnsTemplate] = Field(default_factory=dict)

    @field_validator("zns")
    @classmethod
    def _known_kinds(cls, value: dict[str, ZnsTemplate]) -> dict[str, ZnsTemplate]:
        for kind in value:
            if kind not in ZNS_KINDS:
                raise Problem("zalo_oa.config_unknown_kind", kind=kind, known=", ".join(ZNS_KINDS))
        return value

    def resolved_app_secret(self) -> str | None:
        return _env_or(ZALO_OA_APP_SECRET_ENV, self.app_secret)

    def resolved_secret_key(self) -> str | None:
        return _env_or(ZALO_OA_SECRET_KEY_ENV, self.secret_key)

    def resolved_refresh_token(self) -> str | None:
        return _env_or(ZALO_OA_REFRESH_TOKEN_ENV, self.refresh_token)

    @property
    def configured(self) -> bool:
        return self.enabled and bool(self.app_id and self.oa_id)

    def missing(self) -> list[str]:
        """The settings a configured OA cannot run without (each with its environment variable)."""
        if not self.configured:
            return []
        needed = (("zalo_oa.app_secret", ZALO_OA_APP_SECRET_ENV, self.resolved_app_secret()),
                  ("zalo_oa.secret_key", ZALO_OA_SECRET_KEY_ENV, self.resolved_secret_key()))
        return [f"{key} ({env})" for key, env, value in needed if not value]


class Unit(_Strict):
    """An administrative unit: province, district, commune, hamlet... levels are not fixed."""

    id: str
    name: str
    kind: str = ""
    children: list[Unit] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise Problem("config.bad_slug")
        return value

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise Problem("config.empty")
        return value.strip()

    @property
    def is_leaf(self) -> bool:
        return not self.children


class Topic(_Strict):
    id: str
    name: str
    agency: str = ""
    keywords: list[str] = Field(default_factory=list)  # words households use for it: the form suggests the topic

    _slug = field_validator("id")(Unit._slug.__func__)  # type: ignore[attr-defined]


class Field_(_Strict):
    """A field of policy (lĩnh vực) grouping topics."""

    id: str
    name: str
    topics: list[Topic] = Field(min_length=1)

    _slug = field_validator("id")(Unit._slug.__func__)  # type: ignore[attr-defined]


class DialogueConfig(_Strict):
    """A dialogue planned in the config; seeded into the database once (afterwards managed from chat or CLI)."""

    id: str
    title: str
    starts_at: datetime | None = None
    place: str = ""
    map_url: str | None = None
    status: Literal["draft", "open", "closed", "held", "cancelled"] = "open"
    deadline_days: int = Field(default=5, ge=0, le=60)
    reminders: list[str] = Field(default_factory=lambda: ["3d", "1d", "2h"])
    requires_roster: bool = False
    contact: str = ""
    units: list[str] = Field(default_factory=list)
    seats_per_hamlet: int | None = Field(default=None, ge=1)
    quotas: dict[str, int] = Field(default_factory=dict)

    _slug = field_validator("id")(Unit._slug.__func__)  # type: ignore[attr-defined]

    @field_validator("starts_at", mode="before")
    @classmethod
    def _vietnamese_time(cls, value: object) -> object:
        if isinstance(value, str):
            from bot.core.vntime import parse_vn_datetime

            parsed = parse_vn_datetime(value, ZoneInfo("UTC"))
            if parsed is None:
                raise Problem("config.bad_datetime")
            return parsed.replace(tzinfo=None)
        return value

    @field_validator("reminders")
    @classmethod
    def _offsets(cls, value: list[str]) -> list[str]:
        from bot.core.vntime import parse_offset

        for item in value:
            parse_offset(item)
        return value

    @field_validator("quotas")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for hamlet, quota in value.items():
            if quota < 1:
                raise Problem("config.bad_quota", hamlet=hamlet)
        return value

    def reminder_minutes(self) -> list[int]:
        from bot.core.vntime import parse_offset

        return sorted({parse_offset(r) for r in self.reminders}, reverse=True)


class ReportSection(_Strict):
    """The committee report's heading and signature; empty values are derived from the top unit."""

    issuer: str = ""                # e.g. "ỦY BAN NHÂN DÂN\nXÃ TÂN THUẬN TÂY" (a parent body may come first)
    signer_title: str = ""          # e.g. "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH"
    signer_name: str = ""           # e.g. "Phạm Thanh Sang"
    place: str = ""                 # e.g. "Tân Thuận Tây" (the place before the date)
    recipients: list[str] = Field(default_factory=list)   # "Nơi nhận:" lines


class InvitationSection(_Strict):
    """The paper invitation a hamlet head hands each household ("Giấy mời"); empty values take the catalogue's."""

    bring: list[str] = Field(default_factory=list)   # "Khi đi, xin mang theo:" lines
    signer_title: str = ""                           # e.g. "TRƯỞNG ẤP" (default), under "TM. BAN NHÂN DÂN ẤP"
    zalo: str = ""                                   # where households find the commune on Zalo, e.g. "zalo.me/..."


class RosterSection(_Strict):
    """Limits of a roster import: a file beyond them is refused with a clear answer, nothing imported."""

    max_rows: int = Field(default=200_000, ge=1)           # households in one file
    max_unzipped_mb: int = Field(default=200, ge=1)        # an .xlsx is a zip: its unpacked size


class Settings(_Strict):
    bot: BotSection = Field(default_factory=BotSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    telegram: TelegramSection = Field(default_factory=TelegramSection)
    zalo: ZaloSection = Field(default_factory=ZaloSection)
    web: WebSection = Field(default_factory=WebSection)
    zalo_oa: ZaloOASection = Field(default_factory=ZaloOASection)
    digest: DigestSection = Field(default_factory=DigestSection)
    units: list[Unit] = Field(min_length=1)
    fields: list[Field_] = Field(min_length=1)
    dialogues: list[DialogueConfig] = Field(default_factory=list)
    report: ReportSection = Field(default_factory=ReportSection)
    invitation: InvitationSection = Field(default_factory=InvitationSection)
    backup: BackupSection = Field(default_factory=BackupSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    roster: RosterSection = Field(default_factory=RosterSection)

    def dialogue_quotas(self, dialogue: DialogueConfig) -> dict[str, int]:
        """Seats per hamlet: every hamlet under the listed units gets seats_per_hamlet; quotas override."""
        seats: dict[str, int] = {}
        for unit_id in dialogue.units:
            unit = self.unit(unit_id)
            leaves = [unit] if unit and unit.is_leaf else [u for u in self._leaves(unit)]
            for leaf in leaves:
                if dialogue.seats_per_hamlet:
                    seats[leaf.id] = dialogue.seats_per_hamlet
        for unit_id, quota in dialogue.quotas.items():
            unit = self.unit(unit_id)
            for leaf in [unit] if unit and unit.is_leaf else self._leaves(unit):
                seats[leaf.id] = quota
        return seats

    @staticmethod
    def _leaves(unit: Unit | None) -> list[Unit]:
        if unit is None:
            return []
        if unit.is_leaf:
            return [unit]
        return [leaf for child in unit.children for leaf in Settings._leaves(child)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        seen: set[str] = set()
        for unit in self.iter_units():
            if unit.id in seen:
                raise Problem("config.unit_twice", id=unit.id)
            seen.add(unit.id)
        topic_ids: set[str] = set()
        for fld in self.fields:
            for topic in fld.topics:
                if topic.id in topic_ids:
                    raise Problem("config.topic_twice", id=topic.id)
                topic_ids.add(topic.id)
        return self

    @model_validator(mode="after")
    def _dialogue_hamlets_exist(self) -> Settings:
        for index, dialogue in enumerate(self.dialogues):
            for unit_id in [*dialogue.units, *dialogue.quotas]:
                unit = self.unit(unit_id)
                if unit is None:
                    known = [u.id for u in self.iter_units()]
                    hint = did_you_mean(unit_id, known)
                    raise Problem("config.unknown_unit_close" if hint else "config.unknown_unit",
                                  at=f"dialogues[{index}]", dialogue=dialogue.id, unit=unit_id, hint=hint,
                                  known=", ".join(known))
            if not self.dialogue_quotas(dialogue):
                raise Problem("config.no_seats", at=f"dialogues[{index}]", dialogue=dialogue.id)
        return self

    def iter_units(self) -> Iterator[Unit]:
        stack = list(reversed(self.units))
        while stack:
            unit = stack.pop()
            yield unit
            stack.extend(reversed(unit.children))

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.iter_units() if u.id == unit_id), None)

    def hamlets(self) -> list[Unit]:
        return [u for u in self.iter_units() if u.is_leaf]

    def unit_path(self, unit_id: str) -> list[Unit]:
        """The chain of units from the top down to ``unit_id`` (empty if unknown)."""

        def walk(units: list[Unit], trail: list[Unit]) -> list[Unit]:
            for u in units:
                if u.id == unit_id:
                    return [*trail, u]
                found = walk(u.children, [*trail, u])
                if found:
                    return found
            return []

        return walk(self.units, [])

    def field(self, field_id: str) -> Field_ | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def topic(self, topic_id: str) -> tuple[Field_, Topic] | None:
        for fld in self.fields:
            for topic in fld.topics:
                if topic.id == topic_id:
                    return fld, topic
        return None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)


def _key_of(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(top level)"


def did_you_mean(wrong: str, known: list[str]) -> str:
    """The known name closest to a misspelt one ("timezone" for "timezne"), or ""."""
    close = difflib.get_close_matches(wrong, known, n=1, cutoff=0.6)
    return close[0] if close else ""


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``loc`` (the parent of the offending key) accepts."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _first_error(exc: ValidationError, language: str) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after")))
    raised = err.get("ctx", {}).get("error")
    problem: str | Problem = err["msg"].removeprefix("Value error, ")
    if isinstance(raised, Problem):
        problem = raised
    elif err["type"] == "extra_forbidden":
        known = _allowed_keys(loc)
        hint = did_you_mean(str(loc[-1]), known)
        problem = Problem("config.unknown_key_close" if hint else "config.unknown_key", hint=hint,
                          known=", ".join(known))
    elif err["type"] == "missing":
        problem = Problem("config.missing")
    key = problem.at if isinstance(problem, Problem) and problem.at else _key_of(loc)
    return ConfigError(key, problem, language=language)


def parse_settings(data: dict) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, _language_of(data)) from None


def _language_of(data: dict) -> str:
    """The language the config asks for, read before it is validated, so its errors are told in it."""
    bot = data.get("bot") if isinstance(data, dict) else None
    language = bot.get("language") if isinstance(bot, dict) else None
    return language if language in LANGUAGES else "vi"


def load_settings(path: str | Path) -> Settings:
    """Read and validate a TOML config (a UTF-8 BOM, as Notepad saves, is fine); relative database paths are
    resolved against the config's folder."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        reason = "config.file_missing" if isinstance(exc, FileNotFoundError) else "config.file_unreadable"
        raise ConfigError(str(p), Problem(reason, detail=exc.strerror or exc), file=True) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(str(p), Problem("config.not_utf8"), file=True) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), Problem("config.not_toml", detail=exc), file=True) from None
    settings = parse_settings(data)
    database = settings.database
    if database.url.startswith("sqlite:///"):  # the URL names the file: it is the path
        database = database.model_copy(update={"path": database.url[len("sqlite:///"):]})
    db_path = Path(database.path)
    if not db_path.is_absolute():
        database = database.model_copy(update={"path": str((p.parent / db_path).resolve())})
    settings = settings.model_copy(update={"database": database})
    folder = Path(settings.backup.folder) if settings.backup.folder else Path(settings.database.path).parent / "backups"
    if not folder.is_absolute():
        folder = (p.parent / folder).resolve()
    return settings.model_copy(update={"backup": settings.backup.model_copy(update={"folder": str(folder)})})
