"""An in-process Bot API: a ``BaseRequest`` that answers every method without a network.

Plug it into an application with ``ApplicationBuilder().request(FakeRequest())`` (or ``TelegramChannel(...,
request=...)``). It answers like Telegram would, counts the calls by method and remembers, per chat, the last
message that carried an inline keyboard, so a simulated user can tap a button that was really sent.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from typing import Any

from telegram.request import BaseRequest, RequestData

MESSAGES_KEPT = 8  # per chat: the messages a household can still tap or see edited
BOT_ID = 7_000_000_001
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Đối thoại (bench)",
    "username": "doithoai_bench_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

JSONDict = dict[str, Any]
# The Bot API's method names are case-insensitive: a call is counted under its canonical name.
CANONICAL = {name.lower(): name for name in (
    "getMe", "sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "setMyCommands",
    "deleteWebhook", "getUpdates")}


def _ok(result: object) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


def _error(code: int, description: str) -> tuple[int, bytes]:
    return code, json.dumps({"ok": False, "error_code": code, "description": description}).encode()


class FakeRequest(BaseRequest):
    """Answers Bot API calls in-process. Unknown methods answer ``true`` (and are counted) so nothing stalls."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.last_keyboard: dict[int, JSONDict] = {}   # chat id → the last message sent with an inline keyboard
        self.last_reply_keyboard: dict[int, JSONDict] = {}  # chat id → the last ReplyKeyboardMarkup sent
        self.sent_texts: dict[int, list[str]] = {}     # chat id → texts sent, only when ``keep_texts``
        self.keep_texts = False
        # Telegram's memory of the messages, which lives on Telegram's servers, not in the bot: only the last few
        # per chat (what a household can still tap or see edited), so that the bench's process does not grow by
        # every message sent and the bot's garbage collections do not walk them
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._recent: dict[int, deque[int]] = {}
        self._next_message_id = 1

    # -- BaseRequest ------------------------------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        called = url.rsplit("/", 1)[-1]
        api_method = CANONICAL.get(called.lower(), called)
        self.calls[api_method] += 1
        params: JSONDict = dict(request_data.parameters) if request_data is not None else {}
        answer = getattr(self, f"_api_{api_method}", None)
        if answer is None:
            return _ok(True)
        return answer(params)

    # -- helpers ----------------------------------------------------------------------------------------------------

    def reset_counts(self) -> None:
        self.calls.clear()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        return int(params["chat_id"])

    def _remember(self, chat_id: int, message: JSONDict) -> None:
        markup = message.get("reply_markup")
        if markup and "inline_keyboard" in markup:
            self.last_keyboard[chat_id] = message
        key = (chat_id, message["message_id"])
        if key not in self._messages:
            recent = self._recent.setdefault(chat_id, deque())
            recent.append(key[1])
            if len(recent) > MESSAGES_KEPT:
                self._messages.pop((chat_id, recent.popleft()), None)
        self._messages[key] = message

    # -- the methods ------------------------------------------------------------------------------------------------

    def _api_getMe(self, params: JSONDict) -> tuple[int, bytes]:
        return _ok(BOT_USER)

    def _api_sendMessage(self, params: JSONDict) -> tuple[int, bytes]:
        chat_id = self._chat_id(params)
        text = str(params.get("text", ""))
        if not text:
            return _error(400, "Bad Request: message text is empty")
        message: JSONDict = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": text,
        }
        self._next_message_id += 1
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict):
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup  # only inline keyboards come back in a Message
            elif "keyboard" in markup:
                self.last_reply_keyboard[chat_id] = markup
            elif markup.get("remove_keyboard"):
                self.last_reply_keyboard.pop(chat_id, None)
        if self.keep_texts:
            self.sent_texts.setdefault(chat_id, []).append(text)
        self._remember(chat_id, message)
        return _ok(message)

    def _edit(self, params: JSONDict, *, text: str | None) -> tuple[int, bytes]:
        if "inline_message_id" in params:
            return _ok(True)
        chat_id = self._chat_id(params)
        key = (chat_id, int(params["message_id"]))
        old = self._messages.get(key)
        if old is None:
            return _error(400, "Bad Request: message to edit not found")
        message = {**old, "edit_date": int(time.time())}
        if text is not None:
            message["text"] = text
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
            if self.last_keyboard.get(chat_id, {}).get("message_id") == key[1]:
                del self.last_keyboard[chat_id]
        self._remember(chat_id, message)
        return _ok(message)

    def _api_editMessageText(self, params: JSONDict) -> tuple[int, bytes]:
        return self._edit(params, text=str(params.get("text", "")))

    def _api_editMessageReplyMarkup(self, params: JSONDict) -> tuple[int, bytes]:
        return self._edit(params, text=None)

    def _api_answerCallbackQuery(self, params: JSONDict) -> tuple[int, bytes]:
        return _ok(True)

    def _api_setMyCommands(self, params: JSONDict) -> tuple[int, bytes]:
        return _ok(True)

    def _api_deleteWebhook(self, params: JSONDict) -> tuple[int, bytes]:
        return _ok(True)

    def _api_getUpdates(self, params: JSONDict) -> tuple[int, bytes]:
        return _ok([])
