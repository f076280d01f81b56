"""The interaction window (Zalo OA): which route a message takes to a household, chosen per message.

After a household writes, the OA may send ``free_messages`` consultation messages within ``hours``; the count resets
each time it writes again. Outside that, a message goes by ZNS (a registered template to the household's phone)
when the household gave its phone and the message's kind has a template; else as a proactive message while the
OA's monthly quota lasts; else it waits, and goes as soon as the household writes (``note_inbound``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from bot.core.clock import iso
from bot.core.events import OUTBOX_QUEUED, Events
from bot.outbox.enqueue import Route
from storage import Database, outbox
from storage.outbox import Window


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    hours: float = 48.0
    free_messages: int = 8               # a setting: one source says the cap was lifted in 2026
    proactive_monthly: int = 0           # proactive messages a month (0: the OA sends none)
    zns_kinds: frozenset[str] = field(default_factory=frozenset)  # outbox kinds that have a ZNS template
    recheck: float = 6 * 3600.0          # seconds before a waiting message is looked at again anyway
    tz: tzinfo = UTC                     # the month of the proactive quota is the commune's

    def month_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz)
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def inside(policy: WindowPolicy, window: Window | None, now: datetime) -> bool:
    """Whether a consultation message may go now (the household wrote lately and the free count is not used up)."""
    if window is None:
        return False
    opened = datetime.fromisoformat(window.last_inbound_at)
    return now - opened < timedelta(hours=policy.hours) and window.sent_since < policy.free_messages


def choose_route(policy: WindowPolicy, window: Window | None, now: datetime, *, kind: str, phone: str,
                 proactive_used: int) -> Route:
    if inside(policy, window, now):
        return Route.CONSULTATION
    if phone and kind in policy.zns_kinds:
        return Route.ZNS
    if proactive_used < policy.proactive_monthly:
        return Route.PROACTIVE
    return Route.WAIT


async def note_inbound(db: Database, channel: str, chat_id: str, now: datetime,
                       events: Events | None = None) -> int:
    """A household wrote on a windowed channel: its window opens and its waiting messages are due now (the sender
    is woken through ``events`` when some were waiting). Returns how many were waiting."""
    async with db.transaction() as conn:
        released = await outbox.note_inbound(conn, channel, chat_id, iso(now))
    if released and events is not None:
        await events.emit(OUTBOX_QUEUED)
    return released


async def note_sent(db: Database, channel: str, chat_id: str, count: int) -> None:
    """A conversation's replies went inside the window: they count toward its free messages."""
    if count:
        async with db.transaction() as conn:
            await outbox.note_sent(conn, channel, chat_id, count)
