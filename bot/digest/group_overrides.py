"""Officers' corrections to the automatic grouping, stored and applied wherever groups are built (the digest, the
report, the working papers, the desk's grouped view).

The grouping (``bot.digest.grouping``) is a guess; an officer at the desk can **merge** groups one answer serves
and **split** a question out of a group it does not belong to. Each decision is a group key per submission
(``storage.desk``: ``group_overrides``): submissions sharing a key are one group whatever the guess says; a key of
its own ("s:<id>") leaves a submission alone. Merges stay within one topic: the report lists groups per topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.clock import iso
from bot.core.errors import Refusal
from bot.core.text import one_line
from bot.digest.grouping import Group, Item, group_similar
from bot.staff import audit
from bot.staff.audit import Actor
from storage import Connection
from storage import desk as repo
from storage.records import Submission

MERGED, ALONE = "m:", "s:"


class GroupingError(Refusal):
    """A merge or split that cannot be done as asked (one group only, several topics, a withdrawn question)."""


@dataclass(frozen=True, slots=True)
class GroupOverrides:
    keys: Mapping[int, str] = field(default_factory=dict)   # submission id → group key

    def __bool__(self) -> bool:
        return bool(self.keys)


NONE = GroupOverrides()


async def load(conn: Connection) -> GroupOverrides:
    return GroupOverrides(await repo.overrides(conn))


def grouped(items: Sequence[Item], overrides: GroupOverrides = NONE) -> list[Group]:
    """``group_similar`` with the officers' merges and splits applied."""
    return apply(group_similar(items), overrides)


def apply(groups: list[Group], overrides: GroupOverrides) -> list[Group]:
    """Take every placed submission out of its guessed group and into the group of its key; largest first, then in
    the order first sent. A merged group is shown with the wording of its largest part."""
    if not overrides:
        return groups
    kept: list[Group] = []
    placed: dict[str, list[Item]] = {}
    shown: dict[str, tuple[int, str]] = {}
    for group in groups:
        stay = [item for item in group.items if item.submission_id not in overrides.keys]
        if stay:
            kept.append(Group(stay, group.representative) if len(stay) < group.count else group)
        for item in group.items:
            key = overrides.keys.get(item.submission_id)
            if key is None:
                continue
            placed.setdefault(key, []).append(item)
            text = group.representative if not key.startswith(ALONE) else one_line(item.text)
            if key not in shown or shown[key][0] < group.count:
                shown[key] = (group.count, text)
    merged = [Group(items, shown[key][1]) for key, items in placed.items()]
    everything = kept + merged
    everything.sort(key=lambda g: (-g.count, min(item.submission_id for item in g.items)))
    return everything


async def merge(conn: Connection, actor: Actor, subs: Sequence[Submission], now: datetime) -> str:
    """One group of these submissions (the members of the groups to merge), from now on; audited."""
    if len(subs) < 2:
        raise GroupingError("desk.merge_needs_two")
    if len({sub.topic_id for sub in subs}) > 1:
        raise GroupingError("desk.merge_one_topic")
    key = f"{MERGED}{min(sub.id for sub in subs)}"
    await repo.set_group(conn, [sub.id for sub in subs], key, actor.ref, iso(now))
    await audit.record(conn, actor, "group_merge", key, now=now, codes=",".join(sub.code for sub in subs)[:400])
    return key


async def split(conn: Connection, actor: Actor, sub: Submission, now: datetime) -> None:
    """This submission alone from now on (taken out of its group); audited."""
    await repo.set_group(conn, [sub.id], f"{ALONE}{sub.id}", actor.ref, iso(now))
    await audit.record(conn, actor, "group_split", sub.code, now=now)
