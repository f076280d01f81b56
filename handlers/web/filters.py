"""The question list's filters, read from the query string and narrowed to what the viewer's scope allows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.answers.service import Viewer
from bot.core.config import Settings
from bot.core.text import fold
from bot.form.states import KINDS
from storage import Connection
from storage import answers as answer_repo
from storage.desk import Where

STATUSES = ("new", "at_dialogue", "later", "forwarded", "answered", "withdrawn")
KEYS = ("dialogue", "hamlet", "field", "topic", "agency", "status", "kind", "q")


@dataclass(frozen=True, slots=True)
class Filters:
    dialogue: str = ""
    hamlet: str = ""
    field: str = ""
    topic: str = ""
    agency: str = ""
    status: str = ""
    kind: str = ""
    q: str = ""

    @classmethod
    def read(cls, params: Mapping[str, str]) -> Filters:
        return cls(**{key: params.get(key, "").strip()[:200] for key in KEYS})

    def query(self, **more: object) -> str:
        """This filter (and ``more``) as a query string, for links that keep it."""
        values = {key: getattr(self, key) for key in KEYS if getattr(self, key)}
        values.update({key: str(value) for key, value in more.items() if value not in ("", None)})
        return urlencode(values)

    @property
    def active(self) -> bool:
        return any(getattr(self, key) for key in KEYS)


def agencies(settings: Settings) -> list[str]:
    return list(dict.fromkeys(topic.agency for f in settings.fields for topic in f.topics if topic.agency))


async def where(conn: Connection, settings: Settings, viewer: Viewer, chosen: Filters) -> Where:
    """The SQL conditions of the filters within the viewer's scope (``Scope.allows`` is checked again on each
    submission shown: this only narrows the query)."""
    scope = viewer.scope
    hamlets: tuple[str, ...] | None = scope.hamlets or None
    if chosen.hamlet:
        hamlets = (chosen.hamlet,) if hamlets is None or chosen.hamlet in hamlets else ()
    topics: tuple[str, ...] | None = (chosen.topic,) if chosen.topic else None
    if chosen.agency:
        of_agency = tuple(topic.id for f in settings.fields for topic in f.topics if topic.agency == chosen.agency)
        topics = of_agency if topics is None else tuple(t for t in topics if t in of_agency)
    extra = await answer_repo.dialogue_hamlets(conn, chosen.dialogue) if chosen.dialogue else None
    return Where(
        hamlets=hamlets, scope_fields=scope.fields, scope_topics=scope.topics,
        fields=(chosen.field,) if chosen.field else (), topics=topics,
        statuses=(chosen.status,) if chosen.status in STATUSES else (),
        kinds=(chosen.kind,) if chosen.kind in KINDS else (), text=fold(chosen.q).strip(), extra_hamlets=extra,
    )
