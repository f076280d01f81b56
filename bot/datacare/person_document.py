"""What the bot keeps about one household, as a document the household can read (its right of access).

``doithoai export-person`` writes this beside the JSON: Vietnamese labels, local dates, the names of the hamlet,
the topic and the dialogue instead of ids; nothing internal (conversation step, version).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.vntime import vn_datetime

CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "console"}


def person_document(data: dict[str, Any], settings: Settings, lang: str) -> str:
    """The whole document: who, the accounts, the questions, the registrations."""
    blocks = [t("datacare.doc_title", lang), _who(data["person"], settings, lang),
              _accounts(data.get("identities", []), lang), _questions(data.get("submissions", []), settings, lang),
              _registrations(data.get("registrations", []), settings, lang), t("datacare.doc_footer", lang)]
    return "\n\n".join(block for block in blocks if block) + "\n"


def _when(value: str | None, settings: Settings) -> str:
    return vn_datetime(datetime.fromisoformat(value), settings.tz) if value else "—"


def _who(person: dict[str, Any], settings: Settings, lang: str) -> str:
    hamlet = settings.unit(person.get("hamlet_id") or "")
    category = person.get("category")
    phone = person.get("phone")
    checked = t("datacare.doc_phone_verified" if person.get("phone_verified") else "datacare.doc_phone_typed", lang)
    return t("datacare.doc_who", lang, name=person.get("full_name") or "—", hamlet=hamlet.name if hamlet else "—",
             category=t(f"form.category_{category}", lang) if category else "—",
             phone=f"{phone} ({checked})" if phone else "—", consent=_when(person.get("consent_at"), settings),
             since=_when(person.get("created_at"), settings))


def _accounts(identities: list[dict[str, Any]], lang: str) -> str:
    lines = [t("datacare.doc_accounts", lang)]
    lines += [f"• {CHANNEL_NAMES.get(i['channel'], i['channel'])}: {i['external_id']}" for i in identities]
    return "\n".join(lines) if identities else ""


def _questions(submissions: list[dict[str, Any]], settings: Settings, lang: str) -> str:
    if not submissions:
        return t("datacare.doc_no_questions", lang)
    lines = [t("datacare.doc_questions", lang, count=len(submissions))]
    for sub in submissions:
        found = settings.topic(sub.get("topic_id") or "")
        content = sub.get("content") or (t(f"form.media_{sub['media_kind']}", lang) if sub.get("media_kind") else "")
        lines.append(t("datacare.doc_question", lang, code=sub["code"], date=_when(sub["created_at"], settings),
                       kind=t(f"form.kind_{sub['kind']}", lang), topic=found[1].name if found else sub["topic_id"],
                       status=t(f"common.status_{sub['status']}", lang), content=content or "—"))
        if sub.get("answer"):
            lines.append(t("datacare.doc_answer", lang, answer=sub["answer"]))
    return "\n".join(lines)


def _registrations(registrations: list[dict[str, Any]], settings: Settings, lang: str) -> str:
    if not registrations:
        return ""
    lines = [t("datacare.doc_registrations", lang)]
    for reg in registrations:
        hamlet = settings.unit(reg.get("hamlet_id") or "")
        lines.append(t("datacare.doc_registration", lang, code=reg["code"], dialogue=reg.get("dialogue_title")
                       or reg["dialogue_id"], hamlet=hamlet.name if hamlet else reg["hamlet_id"],
                       status=t(f"staff.reg_{reg['status']}", lang),
                       arrived=_when(reg.get("checked_in_at"), settings)))
    return "\n".join(lines)
