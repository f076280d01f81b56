"""The answer loop: officers and organizers set a submission's status and write its answer; the household hears
about it through the outbox, in its own language; after the dialogue each household gets one message with the
answers to what it asked.

Who may see a submission is decided here and nowhere else: a staff member sees it when their role is officer or
higher and their scope allows its field, topic and hamlet (organizers and admins see everything).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from bot.core.clock import iso
from bot.core.config import Settings
from bot.core.errors import Refusal
from bot.core.i18n import t
from bot.core.text import fold
from bot.core.turn import Turn
from bot.core.types import Message
from bot.outbox.enqueue import Priority, enqueue, recipient_for_person
from bot.staff import audit, roles
from bot.staff.audit import Actor
from bot.staff.roles import Scope
from storage import Connection
from storage import answers as repo
from storage.dialogues import Dialogue
from storage.records import Submission

SETTABLE = ("at_dialogue", "later", "forwarded", "answered")
OPEN = ("new", "later", "forwarded")     # not answered yet
TOLD = ("later", "forwarded")            # status changes the household is told about
CODE = re.compile(r"^(?:DT)?[\s#-]*0*(\d{1,9})$", re.IGNORECASE)
STATUS_WORDS = {
    "at_dialogue": "at_dialogue", "at dialogue": "at_dialogue", "dialogue": "at_dialogue",
    "tai buoi": "at_dialogue", "tai buoi doi thoai": "at_dialogue", "doi thoai": "at_dialogue",
    "later": "later", "sau": "later", "tra loi sau": "later", "giai trinh sau": "later",
    "forwarded": "forwarded", "forward": "forwarded", "chuyen": "forwarded", "chuyen cap tren": "forwarded",
    "cap tren": "forwarded",
    "answered": "answered", "da tra loi": "answered", "tra loi": "answered", "xong": "answered",
}


class AnswerError(Refusal):
    """A refused answer or status change (a withdrawn question, an unknown code)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """A staff member reading submissions: their role now and what their scope lets them see."""

    role: str | None
    scope: Scope

    def sees(self, sub: Submission) -> bool:
        return roles.allows(self.role, "officer") and self.scope.allows(sub.field_id, sub.topic_id, sub.hamlet_id)


async def viewer_of(turn: Turn) -> Viewer:
    return await viewer_for(turn.conn, turn.settings, turn.msg.channel, turn.msg.user_id)


async def viewer_for(conn: Connection, settings: Settings, channel: str, user_id: str) -> Viewer:
    """The chat's and the web desk's one way to know what a staff member may see, read at the moment of the act."""
    role = await roles.role_of(conn, settings, channel, user_id)
    return Viewer(role, await roles.scope_of(conn, settings, channel, user_id))


def parse_code(text: str) -> int | None:
    """``DT-0042``, ``dt42``, ``#42`` or ``42`` → 42."""
    match = CODE.match(text.strip())
    return int(match.group(1)) if match else None


def parse_status(text: str) -> str | None:
    return STATUS_WORDS.get(fold(text))


async def visible(conn: Connection, viewer: Viewer, submission_id: int | None) -> Submission | None:
    """The submission if it exists and the viewer may see it; None otherwise (the two are never told apart)."""
    sub = await repo.by_id(conn, submission_id) if submission_id is not None else None
    return sub if sub is not None and viewer.sees(sub) else None


async def outstanding(conn: Connection, viewer: Viewer, dialogue_id: str | None = None
                      ) -> list[Submission]:
    """What is not answered yet and the viewer may see, oldest first; within a dialogue's hamlets if given."""
    hamlets = await repo.dialogue_hamlets(conn, dialogue_id) if dialogue_id else None
    return [sub for sub in await repo.with_status(conn, OPEN, hamlets) if viewer.sees(sub)]


async def change_status(conn: Connection, settings: Settings, actor: Turn | Actor, sub: Submission,
                        status: str, now: datetime) -> bool:
    """Set the status (audited); the household is told when it means "later" or "forwarded". False if unchanged."""
    if status not in SETTABLE:
        raise ValueError(f"not a status staff may set: {status!r}")
    refuse_withdrawn(sub)
    if sub.status == status:
        return False
    await repo.set_status(conn, sub.id, status)
    await audit.record(conn, actor, "status", sub.code, now=now, before=sub.status, status=status)
    sub.status = status
    if status in TOLD:
        await _tell(conn, settings, sub, f"status:{sub.id}:{status}", "notice", f"answers.told_{status}", now)
    return True


async def record_answer(conn: Connection, settings: Settings, actor: Turn | Actor, sub: Submission,
                        answer: str, now: datetime) -> bool:
    """Save the answer (status "answered", or kept "at_dialogue") and queue it for the household; audited.
    Returns whether a message was queued (False when the household cannot be reached or had it already)."""
    refuse_withdrawn(sub)
    status = "at_dialogue" if sub.status == "at_dialogue" else "answered"
    await repo.set_answer(conn, sub.id, answer, status, iso(now))
    await audit.record(conn, actor, "answer", sub.code, now=now, before=sub.status, status=status,
                       length=len(answer))
    sub.status, sub.answer = status, answer
    digest = hashlib.sha256(answer.encode()).hexdigest()[:12]
    return await _tell(conn, settings, sub, f"answer:{sub.id}:{digest}", "answer", "answers.delivered", now)


def refuse_withdrawn(sub: Submission) -> None:
    if sub.status == "withdrawn":
        raise AnswerError("answers.withdrawn", code=sub.code)


async def _tell(conn: Connection, settings: Settings, sub: Submission, key: str, kind: str,
                message_key: str, now: datetime) -> bool:
    recipient = await recipient_for_person(conn, sub.person_id) if sub.person_id is not None else None
    if recipient is None:
        return False
    lang = recipient.language
    text = t(message_key, lang, code=sub.code, kind=t(f"answers.kind_{sub.kind}", lang),
             topic=topic_name(settings, sub.topic_id), answer=sub.answer or "")
    return await enqueue(conn, key=key, recipient=recipient, kind=kind, message=Message(text),
                         priority=Priority.ANSWER, now=now)


def topic_name(settings: Settings, topic_id: str) -> str:
    found = settings.topic(topic_id)
    return found[1].name if found else topic_id


@dataclass(slots=True)
class SentAnswers:
    queued: int = 0         # households that get the message now
    before: int = 0         # households that had it already (the command was run before)
    unreachable: int = 0    # households that forgot their data or blocked the bot
    without_questions: int = 0  # seated households that sent nothing


async def send_after_dialogue(conn: Connection, settings: Settings, actor: Turn | Actor,
                              dialogue: Dialogue, now: datetime) -> SentAnswers:
    """One message per participating household with the status and answer of each of its submissions; once per
    household and dialogue, however often it is run."""
    result = SentAnswers()
    asked = await repo.of_dialogue_households(conn, dialogue.id)
    result.without_questions = len(set(await repo.seated_households(conn, dialogue.id)) - set(asked))
    for person_id, subs in asked.items():
        recipient = await recipient_for_person(conn, person_id)
        if recipient is None:
            result.unreachable += 1
            continue
        text = summary_text(settings, dialogue, subs, recipient.language)
        new = await enqueue(conn, key=f"answers:{dialogue.id}:{person_id}", recipient=recipient, kind="answer",
                            message=Message(text), priority=Priority.ANSWER, now=now)
        result.queued += new
        result.before += not new
    await audit.record(conn, actor, "send_answers", dialogue.id, now=now, queued=result.queued,
                       before=result.before, unreachable=result.unreachable)
    return result


def summary_text(settings: Settings, dialogue: Dialogue, subs: list[Submission], lang: str) -> str:
    lines = [t("answers.summary_header", lang, title=dialogue.title)]
    for sub in subs:
        lines.append("")
        lines.append(t("answers.summary_item", lang, code=sub.code, kind=t(f"answers.kind_{sub.kind}", lang),
                       topic=topic_name(settings, sub.topic_id), status=t(f"common.status_{sub.status}", lang)))
        if sub.answer:
            lines.append(t("answers.summary_answer", lang, answer=sub.answer))
        elif sub.status in OPEN:
            lines.append(t("answers.summary_pending", lang))
    lines.extend(("", t("answers.summary_footer", lang)))
    return "\n".join(lines)
