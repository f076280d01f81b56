"""The household's form in the chat: consent, identification, questions, the menu and its commands."""

from __future__ import annotations

from bot.core.registry import Registry
from bot.form.commands import cmd_cancel, cmd_dialogue, cmd_help, cmd_menu, cmd_mydata, cmd_myquestions, cmd_start
from bot.form.consent import Consent
from bot.form.forget import ForgetConfirm, cmd_forget
from bot.form.menu import Idle, Menu, Submitted
from bot.form.profile import Category, Hamlet, Name, Phone
from bot.form.question import Content, EditPick, FieldStep, Kind, Review, TopicStep
from bot.form.say_first import Suggest, take_said_question
from bot.form.states import FormStep


def register(registry: Registry) -> None:
    registry.add_steps(Consent(), Name(), Hamlet(), Category(), Phone(), Kind(), FieldStep(), TopicStep(),
                       Content(), Review(), EditPick(), Submitted(), Menu(), Idle(), ForgetConfirm(), Suggest())
    registry.start_at(entry=FormStep.CONSENT, home=FormStep.MENU)
    registry.on_idle(take_said_question)
    registry.add_commands({
        "start": (None, cmd_start),
        "help": (None, cmd_help),
        "cancel": (None, cmd_cancel),
        "myquestions": (None, cmd_myquestions),
        "forget": (None, cmd_forget),
        "menu": (None, cmd_menu),
        "dialogue": (None, cmd_dialogue),
        "mydata": (None, cmd_mydata),
    })
