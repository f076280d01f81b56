"""The answer loop in the chat, for officers who are not at ease with computers.

``/outstanding`` lists what is not answered yet (in the officer's scope) as buttons; ``/answer DT-0042`` shows one
submission (its voice note or photo is sent again) with status buttons and asks for the answer text, which is
shown back before it goes to the household. ``/answer DT-0042 <text>`` and ``/status DT-0042 later`` do it in one
line; ``/sendanswers <dialogue>`` sends each household one message with all its answers after the dialogue.

The steps keep the submission id in the conversation state, never in a button: a tap carries only a status or a
choice the prompt offered, and every step checks again that the speaker may still see the submission.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.answers import service as answers
from bot.answers.service import OPEN, SETTABLE, AnswerError, Viewer, viewer_of, visible
from bot.core.choices import tag, untag
from bot.core.clock import iso
from bot.core.errors import Refusal
from bot.core.events import OUTBOX_QUEUED
from bot.core.i18n import catalogue
from bot.core.registry import Handler
from bot.core.steps import BACK, Step
from bot.core.text import clean, one_line, shorten
from bot.core.turn import Turn
from bot.core.types import Choice, Message
from bot.core.vntime import vn_date
from bot.dialogues.service import DialogueError
from bot.form.states import FormStep
from bot.outbox.enqueue import Priority, Recipient, enqueue
from bot.staff import audit
from storage import dialogues as dialogue_repo
from storage import media as kept_media
from storage import people
from storage.records import Submission

PAGE = 10
MIN_ANSWER = 2
REPLAYABLE = ("voice", "photo")
QUIET_RETURNS = (FormStep.CONSENT, FormStep.MENU, FormStep.IDLE)  # returned to without showing their prompt


class AnswerStep(StrEnum):
    PICK = "answer_pick"
    STATUS = "answer_status"
    CONFIRM = "answer_confirm"


class AnswerKey(StrEnum):
    ANSWERING = "answering"        # the submission being answered (its id, never in a button)
    DRAFT = "answer_draft"         # the typed answer, shown back before it is sent
    LIST = "answer_list"           # True: /outstanding's list is open, "done" returns to it
    DIALOGUE = "answer_dialogue"   # the dialogue /outstanding was limited to
    RETURN = "answer_return"       # where the officer was before the first answer step


class AnswerTag(StrEnum):
    SUBMISSION = "s"
    STATUS = "st"


STEP_NAMES = frozenset(AnswerStep)
STATE_KEYS = (AnswerKey.ANSWERING, AnswerKey.DRAFT, AnswerKey.LIST, AnswerKey.DIALOGUE)


# ---- entering and leaving the steps ---------------------------------------------------------------------------


async def enter(turn: Turn, step: AnswerStep) -> None:
    """Open a staff step (no household consent needed) and show its prompt."""
    if turn.session.step not in STEP_NAMES:
        turn.data[AnswerKey.RETURN] = turn.session.step
    turn.goto(step)
    turn.show_prompt = True


def leave(turn: Turn) -> None:
    for key in STATE_KEYS:
        turn.data.pop(key, None)
    back = turn.data.pop(AnswerKey.RETURN, None) or turn.context.home
    if back == FormStep.CONSENT or back in STEP_NAMES:
        turn.go_home()
    else:
        turn.resume(back)
    turn.show_prompt = back not in QUIET_RETURNS
    turn.say("answers.left")


def back_to_list_or_leave(turn: Turn) -> None:
    turn.data.pop(AnswerKey.ANSWERING, None)
    turn.data.pop(AnswerKey.DRAFT, None)
    if turn.data.get(AnswerKey.LIST):
        turn.goto(AnswerStep.PICK)
    else:
        leave(turn)


async def current(turn: Turn) -> tuple[Viewer, Submission | None]:
    viewer = await viewer_of(turn)
    return viewer, await visible(turn.conn, viewer, turn.data.get(AnswerKey.ANSWERING))


async def open_submission(turn: Turn, sub: Submission) -> None:
    """Show a submission to the speaker (audited as a view), replay its media, and ask for status or answer."""
    await audit.record(turn.conn, turn, "view", sub.code)
    turn.data[AnswerKey.ANSWERING] = sub.id
    turn.data.pop(AnswerKey.DRAFT, None)
    note = await replay_media(turn, sub)
    if note:
        turn.say_text(note)
    await enter(turn, AnswerStep.STATUS)


# ---- what the officer is shown ----------------------------------------------------------------------------------


async def card(turn: Turn, sub: Submission) -> str:
    person = await people.get_person(turn.conn, sub.person_id) if sub.person_id is not None else None
    found = turn.settings.topic(sub.topic_id)
    hamlet = turn.settings.unit(sub.hamlet_id or "")
    category_key = f"form.category_{sub.category}"
    content = [turn.t(f"form.media_{sub.media_kind}")] if sub.media_kind else []
    content += [sub.content] if sub.content else []
    text = turn.t(
        "answers.card", code=sub.code, kind=turn.t(f"form.kind_{sub.kind}"),
        field=found[0].name if found else sub.field_id, topic=found[1].name if found else sub.topic_id,
        hamlet=hamlet.name if hamlet else (sub.hamlet_id or "—"),
        name=(person.full_name if person else None) or turn.t("answers.no_name"),
        category=turn.t(category_key) if category_key in catalogue() else "—",
        date=vn_date(datetime.fromisoformat(sub.created_at), turn.settings.tz),
        status=turn.t(f"common.status_{sub.status}"), content="\n".join(content) or "—",
    )
    if sub.answer:
        text += "\n" + turn.t("answers.card_answer", answer=sub.answer)
    return text


async def replay_media(turn: Turn, sub: Submission) -> str:
    """Send the household's voice note or photo to this chat by its file id (valid only on the channel it came
    from); returns a line saying so."""
    if not sub.media_kind or not sub.media_file_id:
        return ""
    media = turn.t(f"form.media_{sub.media_kind}")
    kept = kept_media.path_of(turn.context.db, sub.media_file_id)  # a file kept when it arrived: any channel
    if kept is None and (sub.channel != turn.msg.channel or sub.media_kind not in REPLAYABLE):
        return turn.t("answers.media_elsewhere", media=media)
    caption = turn.t("answers.media_caption", media=media, code=sub.code)
    if kept is not None:
        message = Message(caption, photo_path=str(kept)) if sub.media_kind == "photo" else Message(
            caption, document_path=str(kept), document_name=f"{sub.code}-{sub.media_kind}")
    elif sub.media_kind == "voice":
        message = Message(caption, voice=sub.media_file_id)
    else:
        message = Message(caption, photo=sub.media_file_id)
    me = Recipient(turn.session.person.id, turn.msg.channel, turn.msg.chat_id, turn.lang)
    await enqueue(turn.conn, key=f"media:{sub.id}:{turn.msg.channel}:{turn.msg.user_id}:{iso(turn.now)}",
                  recipient=me, kind="media", message=message, priority=Priority.NOTICE, now=turn.now)
    turn.emit(OUTBOX_QUEUED)
    return turn.t("answers.media_follows", media=media)


def answer_problem(turn: Turn, text: str) -> str | None:
    if len(text) < MIN_ANSWER:
        return "answers.too_short"
    if len(text) > turn.settings.bot.max_text_length:
        return "answers.too_long"
    return None


async def save_answer(turn: Turn, sub: Submission, text: str) -> None:
    delivered = await answers.record_answer(turn.conn, turn.settings, turn, sub, text, turn.now)
    turn.say("answers.sent" if delivered else "answers.saved_only", code=sub.code)
    turn.emit(OUTBOX_QUEUED)


def item_label(turn: Turn, sub: Submission) -> str:
    hamlet = turn.settings.unit(sub.hamlet_id or "")
    where = hamlet.name if hamlet else (sub.hamlet_id or "—")
    return shorten(f"{sub.code} · {where} · {answers.topic_name(turn.settings, sub.topic_id)}", 60)


def item_line(turn: Turn, sub: Submission) -> str:
    content = sub.content or (turn.t(f"form.media_{sub.media_kind}") if sub.media_kind else "")
    return turn.t("answers.list_item", label=item_label(turn, sub), status=turn.t(f"common.status_{sub.status}"),
                  content=shorten(one_line(content), 90))


# ---- steps ------------------------------------------------------------------------------------------------------


class AnswerPick(Step):
    """The submissions not answered yet, as buttons; the list is read again at every turn."""

    needs_consent = False
    role = "officer"
    name = AnswerStep.PICK

    async def prompt(self, turn: Turn) -> Message:
        done = turn.choice("done", "answers.done")
        viewer = await viewer_of(turn)
        items = await answers.outstanding(turn.conn, viewer, turn.data.get(AnswerKey.DIALOGUE))
        if not items:
            return Message(turn.t("answers.none_left"), (done,))
        shown = items[:PAGE]
        lines = [turn.t("answers.pick", count=len(items), shown=len(shown))]
        lines.extend(item_line(turn, sub) for sub in shown)
        choices = tuple(Choice(tag(AnswerTag.SUBMISSION, sub.id), item_label(turn, sub)) for sub in shown)
        return Message("\n".join(lines), (*choices, done))

    async def on_choice(self, turn: Turn, value: str) -> None:
        if value == "done":
            leave(turn)
            return
        viewer = await viewer_of(turn)
        sub_id = untag(value, AnswerTag.SUBMISSION) or value
        sub = await visible(turn.conn, viewer, int(sub_id)) if sub_id.isdigit() else None
        if sub is None or sub.status not in OPEN:
            turn.say("answers.gone")
            return
        await open_submission(turn, sub)


class AnswerStatus(Step):
    """One submission: status buttons, or the answer typed as text."""

    needs_consent = False
    role = "officer"
    name = AnswerStep.STATUS
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        done = turn.choice("done", "answers.back_to_list" if turn.data.get(AnswerKey.LIST) else "answers.done")
        _, sub = await current(turn)
        if sub is None:
            return Message(turn.t("answers.gone"), (done,))
        text = await card(turn, sub)
        if sub.status == "withdrawn":
            return Message(text + "\n\n" + turn.t("answers.withdrawn", code=sub.code), (done,))
        choices = [Choice(tag(AnswerTag.STATUS, status),
                          ("✔️ " if status == sub.status else "") + turn.t(f"answers.set_{status}"))
                   for status in SETTABLE]
        return Message(text + "\n\n" + turn.t("answers.ask_status"), (*choices, done))

    async def on_choice(self, turn: Turn, value: str) -> None:
        _, sub = await current(turn)
        if value == "done" or sub is None:
            back_to_list_or_leave(turn)
            return
        status = untag(value, AnswerTag.STATUS) or value
        changed = await answers.change_status(turn.conn, turn.settings, turn, sub, status, turn.now)
        turn.say("answers.status_saved" if changed else "answers.status_same", code=sub.code,
                 status=turn.t(f"common.status_{status}"))
        turn.emit(OUTBOX_QUEUED)
        turn.touch()

    async def on_text(self, turn: Turn, text: str) -> None:
        _, sub = await current(turn)
        if sub is None or sub.status == "withdrawn":
            return  # the prompt that follows says why
        problem = answer_problem(turn, text)
        if problem is not None:
            turn.say(problem, limit=turn.settings.bot.max_text_length)
            return
        turn.data[AnswerKey.DRAFT] = text
        turn.goto(AnswerStep.CONFIRM)

    async def on_media(self, turn: Turn) -> None:
        turn.say("answers.text_only")


class AnswerConfirm(Step):
    """The typed answer shown back before it goes to the household; typing again replaces it."""

    needs_consent = False
    role = "officer"
    name = AnswerStep.CONFIRM
    free_text = True

    async def prompt(self, turn: Turn) -> Message:
        back = turn.choice(BACK, "form.back")
        _, sub = await current(turn)
        draft = turn.data.get(AnswerKey.DRAFT) or ""
        if sub is None or not draft:
            return Message(turn.t("answers.gone"), (back,))
        person = await people.get_person(turn.conn, sub.person_id) if sub.person_id is not None else None
        name = (person.full_name if person else None) or turn.t("answers.no_name")
        return Message(turn.t("answers.confirm", code=sub.code, name=name, answer=draft),
                     (turn.choice("send", "answers.send"), back))

    async def on_choice(self, turn: Turn, value: str) -> None:
        """``send`` (the only choice besides back)."""
        _, sub = await current(turn)
        draft = turn.data.pop(AnswerKey.DRAFT, None)
        if sub is not None and draft:
            try:
                await save_answer(turn, sub, draft)
            except Refusal as exc:
                turn.say_text(exc.text(turn.lang))
            back_to_list_or_leave(turn)
        elif sub is None:
            back_to_list_or_leave(turn)
        else:
            turn.goto(AnswerStep.STATUS)

    async def on_back(self, turn: Turn) -> None:
        _, sub = await current(turn)
        turn.data.pop(AnswerKey.DRAFT, None)
        if sub is None:
            back_to_list_or_leave(turn)
        else:
            turn.goto(AnswerStep.STATUS)

    async def on_text(self, turn: Turn, text: str) -> None:
        problem = answer_problem(turn, text)
        if problem is not None:
            turn.say(problem, limit=turn.settings.bot.max_text_length)
            return
        turn.data[AnswerKey.DRAFT] = text
        turn.touch()

    async def on_media(self, turn: Turn) -> None:
        turn.say("answers.text_only")



# ---- commands ---------------------------------------------------------------------------------------------------


async def find(turn: Turn, code_text: str) -> Submission:
    """The submission named by the speaker, if they may see it; "not found" either way otherwise."""
    sub = await visible(turn.conn, await viewer_of(turn), answers.parse_code(code_text))
    if sub is None:
        raise AnswerError("answers.not_found", code=shorten(code_text, 20))
    return sub


async def cmd_answer(turn: Turn, args: str) -> None:
    """``/answer DT-0042`` opens the submission; ``/answer DT-0042 <text>`` answers it at once."""
    code_text, _, text = args.strip().partition(" ")
    if not code_text:
        turn.say("answers.answer_usage")
        return
    sub = await find(turn, code_text)
    text = clean(text)
    if not text:
        turn.data.pop(AnswerKey.LIST, None)
        turn.data.pop(AnswerKey.DIALOGUE, None)
        await open_submission(turn, sub)
        return
    problem = answer_problem(turn, text)
    if problem is not None:
        turn.say(problem, limit=turn.settings.bot.max_text_length)
        return
    await save_answer(turn, sub, text)


async def cmd_status(turn: Turn, args: str) -> None:
    """``/status DT-0042 later`` (or sau, chuyển, tại buổi, đã trả lời)."""
    code_text, _, status_text = args.strip().partition(" ")
    status = answers.parse_status(status_text)
    if not code_text or status is None:
        turn.say("answers.status_usage")
        return
    sub = await find(turn, code_text)
    changed = await answers.change_status(turn.conn, turn.settings, turn, sub, status, turn.now)
    turn.say("answers.status_saved" if changed else "answers.status_same", code=sub.code,
             status=turn.t(f"common.status_{status}"))
    turn.emit(OUTBOX_QUEUED)


async def cmd_outstanding(turn: Turn, args: str) -> None:
    """``/outstanding [dialogue]``: what is not answered yet in the speaker's scope, as buttons."""
    dialogue_id = args.strip().split(" ", 1)[0]
    if dialogue_id and await dialogue_repo.get_dialogue(turn.conn, dialogue_id) is None:
        raise DialogueError("dialogues.unknown", id=shorten(dialogue_id, 40))
    if not await answers.outstanding(turn.conn, await viewer_of(turn), dialogue_id or None):
        turn.say("answers.none_left")
        return
    for key in STATE_KEYS:
        turn.data.pop(key, None)
    turn.data[AnswerKey.LIST] = True
    if dialogue_id:
        turn.data[AnswerKey.DIALOGUE] = dialogue_id
    await enter(turn, AnswerStep.PICK)


async def cmd_sendanswers(turn: Turn, args: str) -> None:
    """``/sendanswers <dialogue>``: after the dialogue, one message per household with all its answers."""
    dialogue_id = args.strip().split(" ", 1)[0]
    if not dialogue_id:
        turn.say("answers.sendanswers_usage")
        return
    dialogue = await dialogue_repo.get_dialogue(turn.conn, dialogue_id)
    if dialogue is None:
        raise DialogueError("dialogues.unknown", id=shorten(dialogue_id, 40))
    sent = await answers.send_after_dialogue(turn.conn, turn.settings, turn, dialogue, turn.now)
    turn.say("answers.sendanswers_done", id=dialogue.id, queued=sent.queued, before=sent.before,
             unreachable=sent.unreachable, silent=sent.without_questions)
    turn.emit(OUTBOX_QUEUED)


COMMANDS: dict[str, tuple[str | None, Handler]] = {
    "answer": ("officer", cmd_answer),
    "status": ("officer", cmd_status),
    "outstanding": ("officer", cmd_outstanding),
    "sendanswers": ("organizer", cmd_sendanswers),
}
