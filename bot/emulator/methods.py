"""Implementations of the Bot API methods the bot uses, over :class:`EmulatorState`.

Each handler takes decoded parameters (and uploaded files) and returns the ``result``
value, or raises :class:`ApiError` with Telegram's exact error text. HTTP, faults and
rate limits live in :mod:`bot.emulator.server`.

Example::

    methods = BotApiMethods(state)
    handler = methods.get("sendMessage")
    message = await handler({"chat_id": 1001, "text": "hi"}, {})
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from typing import Any

from bot.emulator.errors import ApiError
from bot.emulator.formatting import render_text, utf16_len
from bot.emulator.messages import MessageKind, SentMessage, normalize_markup
from bot.emulator.params import UploadedFile
from bot.emulator.state import CommandKey, EmulatorState, StoredFile
from bot.emulator.users import CALLBACK_ID_SEPARATOR, EmulatedUser

__all__ = ["SEND_METHODS", "BotApiMethods", "Handler"]

Handler = Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]

# Lower-cased names of calls subject to fault injection, rate limits and delivery stats.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA_BYTES = 64


class BotApiMethods:
    """Registry of method handlers keyed by lower-cased method name."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        # What each bot's setWebhook registered, by bot id: {"url": ..., "secret_token": ...}.
        self.webhooks: dict[int, dict[str, Any]] = {}
        simple_true = self._return_true
        self._handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "setwebhook": self.set_webhook,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "sendchataction": self.send_chat_action,
            "getchat": self.get_chat,
            "getfile": self.get_file,
            "setmyname": self._profile_setter("name"),
            "setmydescription": self._profile_setter("description"),
            "setmyshortdescription": self._profile_setter("short_description"),
            "getmyname": self._profile_getter("name"),
            "getmydescription": self._profile_getter("description"),
            "getmyshortdescription": self._profile_getter("short_description"),
            "setchatmenubutton": simple_true,
            "close": simple_true,
            "logout": simple_true,
        }

    @property
    def webhook(self) -> dict[str, Any] | None:
        """What the current bot (the default bot outside a request) registered, or None."""
        return self.webhooks.get(self._state.current_bot_id)

    @webhook.setter
    def webhook(self, value: dict[str, Any] | None) -> None:
        if value is None:
            self.webhooks.pop(self._state.current_bot_id, None)
        else:
            self.webhooks[self._state.current_bot_id] = value

    def get(self, method: str) -> Handler | None:
        """Return the handler for ``method`` (case-insensitive), or ``None``."""
        return self._handlers.get(method.lower())

    # ----------------------------------------------------------------- bot & updates
    async def get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """getMe: the bot's own User object."""
        return {
            **self._state.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def get_updates(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """getUpdates: confirm by offset, then long-poll up to ``timeout`` seconds."""
        return await self._state.updates.fetch(
            offset=_int_or_none(params.get("offset")),
            limit=_int_or_none(params.get("limit")) or 100,
            poll_seconds=float(params.get("timeout") or 0),
        )

    async def delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """deleteWebhook: optionally drop pending updates."""
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        self.webhook = None
        return True

    async def set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """setWebhook: register the https URL and secret_token the emulator posts updates with."""
        url = str(params.get("url") or "")
        if not url:
            # Telegram treats an empty url as "remove the webhook".
            self.webhook = None
            return True
        if not url.startswith("https://"):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        self.webhook = {"url": url, "secret_token": str(secret) if secret else None}
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        return True

    async def get_webhook_info(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """getWebhookInfo: the registered URL ("" for none) and the pending update count."""
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._state.updates),
        }

    # ----------------------------------------------------------------- commands
    async def set_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """setMyCommands: store the list per (scope, language_code)."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request('parameter "commands" is required')
        stored: list[tuple[str, str]] = []
        for entry in commands:
            command = str(entry.get("command", "")).removeprefix("/")
            description = str(entry.get("description", ""))
            if not _valid_command(command):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if not description:
                raise ApiError.bad_request("command description is empty")
            stored.append((command, description))
        self._state.commands[_command_key(params)] = stored
        return True

    async def get_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """getMyCommands: the stored list for (scope, language_code)."""
        stored = self._state.commands.get(_command_key(params), [])
        return [{"command": c, "description": d} for c, d in stored]

    async def delete_my_commands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """deleteMyCommands: forget the list for (scope, language_code)."""
        self._state.commands.pop(_command_key(params), None)
        return True

    # ----------------------------------------------------------------- sending
    async def send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendMessage: render, validate, store and echo a text message."""
        user = self._recipient(params)
        text = params.get("text")
        if not text:
            raise ApiError.bad_request("message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        rendered, entities = render_text(text, parse_mode, params.get("entities"))
        _check_text(rendered)
        markup = _checked_markup(params.get("reply_markup"))
        message = SentMessage(
            message_id=user.allocate_message_id(),
            chat_id=user.id,
            date=int(self._state.clock()),
            text=text,
            parse_mode=parse_mode,
            reply_markup=markup,
            rendered=rendered,
            entities=entities,
        )
        return await self._deliver(user, message)

    async def send_photo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendPhoto: store the uploaded (or referenced) image with its caption."""
        return await self._send_media(params, files, kind="photo")

    async def send_document(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendDocument: store the uploaded (or referenced) file with its caption."""
        return await self._send_media(params, files, kind="document")

    async def send_chat_action(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendChatAction: accepted for reachable chats."""
        self._recipient(params)
        return True

    # ----------------------------------------------------------------- editing
    async def edit_message_text(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """editMessageText: replace text (and markup; omitted markup removes it)."""
        user, message = self._editable(params, "message to edit not found")
        if message.kind != "text":
            raise ApiError.bad_request("there is no text in the message to edit")
        text = params.get("text")
        if not text:
            raise ApiError.bad_request("message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        rendered, entities = render_text(text, parse_mode, params.get("entities"))
        _check_text(rendered)
        markup = _checked_markup(params.get("reply_markup"))
        unchanged = (
            rendered == message.rendered
            and entities == message.entities
            and markup == normalize_markup(message.reply_markup)
        )
        if unchanged:
            raise ApiError.not_modified()
        message.history.append(message.text)
        message.text = text
        message.parse_mode = parse_mode
        message.rendered = rendered
        message.entities = entities
        message.reply_markup = markup
        return await self._record_edit(user, message)

    async def edit_message_caption(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """editMessageCaption: replace a photo/document caption (and markup)."""
        user, message = self._editable(params, "message to edit not found")
        if message.kind == "text":
            raise ApiError.bad_request("there is no caption in the message to edit")
        caption = str(params.get("caption") or "")
        parse_mode = params.get("parse_mode") or None
        rendered, entities = render_text(caption, parse_mode, params.get("caption_entities"))
        if utf16_len(rendered) > _MAX_CAPTION:
            raise ApiError.bad_request("message caption is too long")
        markup = _checked_markup(params.get("reply_markup"))
        unchanged = (
            rendered == message.rendered
            and entities == message.entities
            and markup == normalize_markup(message.reply_markup)
        )
        if unchanged:
            raise ApiError.not_modified()
        message.history.append(message.caption)
        message.caption = caption or None
        message.parse_mode = parse_mode
        message.rendered = rendered
        message.entities = entities
        message.reply_markup = markup
        return await self._record_edit(user, message)

    async def edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """editMessageReplyMarkup: replace (or remove) the inline keyboard."""
        user, message = self._editable(params, "message to edit not found")
        markup = _checked_markup(params.get("reply_markup"))
        if markup == normalize_markup(message.reply_markup):
            raise ApiError.not_modified()
        message.reply_markup = markup
        return await self._record_edit(user, message)

    async def delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """deleteMessage: mark a bot message deleted."""
        _, message = self._editable(params, "message to delete not found")
        message.deleted = True
        return True

    # ----------------------------------------------------------------- callbacks & chats
    async def answer_callback_query(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        """answerCallbackQuery: record the answer on the user who pressed the button."""
        query_id = str(params.get("callback_query_id", ""))
        owner, _, _ = query_id.partition(CALLBACK_ID_SEPARATOR)
        user = self._state.users.get(int(owner)) if owner.lstrip("-").isdigit() else None
        text = params.get("text")
        answered = user is not None and await user.record_answer(
            query_id,
            str(text) if text is not None else None,
            bool(params.get("show_alert")),
            params.get("url"),
        )
        if not answered:
            raise ApiError.bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    async def get_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """getChat: ChatFullInfo for a user's private chat."""
        chat_id = _chat_id(params)
        user = self._state.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise ApiError.chat_not_found()
        return {
            **user.chat_dict,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """getFile: metadata and download path of an uploaded file."""
        stored = self._state.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # ----------------------------------------------------------------- helpers
    async def _return_true(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """Accept and ignore."""
        return True

    def _profile_setter(self, field: str) -> Handler:
        """Build a setMy* handler storing ``params[field]``."""

        async def handler(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
            self._state.profile[field] = str(params.get(field) or "")
            return True

        return handler

    def _profile_getter(self, field: str) -> Handler:
        """Build a getMy* handler returning ``{field: value}``."""

        async def handler(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
            return {field: self._state.profile.get(field, "")}

        return handler

    def _recipient(self, params: dict[str, Any]) -> EmulatedUser:
        """Resolve ``chat_id`` to a reachable user, else raise 400/403 as Telegram does."""
        chat_id = _chat_id(params)
        user = self._state.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise ApiError.chat_not_found()
        if user.blocked:
            raise ApiError.blocked()
        return user

    def _editable(self, params: dict[str, Any], missing: str) -> tuple[EmulatedUser, SentMessage]:
        """Resolve ``chat_id`` + ``message_id`` to a live bot message."""
        if params.get("inline_message_id"):
            raise ApiError.bad_request("inline messages are not supported by the emulator")
        user = self._recipient(params)
        message = user.message(_int_or_none(params.get("message_id")) or 0)
        if message is None or message.deleted:
            raise ApiError.bad_request(missing)
        return user, message

    async def _send_media(
        self, params: dict[str, Any], files: dict[str, UploadedFile], *, kind: MessageKind
    ) -> Any:
        """Shared body of sendPhoto/sendDocument."""
        user = self._recipient(params)
        upload, reference = _media_source(params, files, kind)
        caption = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        rendered, entities = ("", [])
        if caption is not None:
            caption = str(caption)
            rendered, entities = render_text(caption, parse_mode, params.get("caption_entities"))
            if utf16_len(rendered) > _MAX_CAPTION:
                raise ApiError.bad_request("message caption is too long")
        if upload is not None:
            stored = self._state.store_file(
                upload.data, filename=upload.filename, mime_type=upload.content_type, folder=kind
            )
        else:
            existing = self._state.files.get(reference or "")
            if existing is None:
                raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
            stored = existing
        message = SentMessage(
            message_id=user.allocate_message_id(),
            chat_id=user.id,
            date=int(self._state.clock()),
            parse_mode=parse_mode,
            reply_markup=_checked_markup(params.get("reply_markup")),
            kind=kind,
            file_bytes=stored.data,
            filename=stored.filename,
            mime_type=stored.mime_type,
            file_id=stored.file_id,
            caption=caption,
            rendered=rendered,
            entities=entities,
            media=_media_payload(kind, stored),
        )
        return await self._deliver(user, message)

    async def _deliver(self, user: EmulatedUser, message: SentMessage) -> dict[str, Any]:
        """Record a new bot message everywhere and return its API form."""
        message.bot_id = self._state.current_bot_id
        self._state.all_sent.append(message)
        await user.record_sent(message)
        return message.to_api(self._state.bot_user, user.chat_dict)

    async def _record_edit(self, user: EmulatedUser, message: SentMessage) -> dict[str, Any]:
        """Bump edit bookkeeping on ``message`` and return its API form."""
        message.edits += 1
        message.edit_date = int(self._state.clock())
        await user.record_edit(message)
        return message.to_api(self._state.bot_user, user.chat_dict)


def _chat_id(params: dict[str, Any]) -> int | str:
    """Return ``chat_id`` or raise Telegram's "chat_id is empty"."""
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise ApiError.bad_request("chat_id is empty")
    return chat_id


def _int_or_none(value: Any) -> int | None:
    """Parse an optional integer parameter."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError.bad_request(f"invalid integer value {value!r}") from exc


def _check_text(rendered: str) -> None:
    """Enforce Telegram's non-empty, 4096-character text limits on rendered text."""
    if not rendered.strip():
        raise ApiError.bad_request("message text is empty")
    if utf16_len(rendered) > _MAX_TEXT:
        raise ApiError.bad_request("message is too long")


def _checked_markup(markup: Any) -> dict[str, Any] | None:
    """Validate ``reply_markup`` as Telegram does and normalise empty keyboards away."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= _MAX_CALLBACK_DATA_BYTES:
                raise ApiError.bad_request("BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise ApiError.bad_request("text buttons are unallowed in the inline keyboard")
    return normalize_markup(markup)


def _valid_command(command: str) -> bool:
    """Telegram accepts 1-32 chars of lowercase letters, digits and underscores."""
    return 1 <= len(command) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in command)


def _command_key(params: dict[str, Any]) -> CommandKey:
    """Key commands by scope type (plus chat/user id for chat scopes) and language."""
    scope = params.get("scope") or {}
    scope_type = str(scope.get("type", "default"))
    for id_field in ("chat_id", "user_id"):
        if id_field in scope:
            scope_type = f"{scope_type}:{scope[id_field]}"
    return scope_type, str(params.get("language_code") or "")


def _media_source(
    params: dict[str, Any], files: dict[str, UploadedFile], kind: str
) -> tuple[UploadedFile | None, str | None]:
    """Return the uploaded file for ``kind`` or the file_id/URL string it references."""
    value = params.get(kind)
    if isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value.removeprefix("attach://"))
        if upload is None:
            raise ApiError.bad_request(f"there is no {kind} in the request")
        return upload, None
    if kind in files:
        return files[kind], None
    if isinstance(value, str) and value:
        return None, value
    raise ApiError.bad_request(f"there is no {kind} in the request")


def _media_payload(kind: str, stored: StoredFile) -> dict[str, Any]:
    """Return the ``photo``/``document`` fields of the API message."""
    file_id, unique_id = stored.file_id, stored.file_unique_id
    if kind == "photo":
        width, height = _image_size(stored.data)
        return {
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(stored.data),
                }
            ]
        }
    document: dict[str, Any] = {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "file_size": len(stored.data),
    }
    if stored.filename:
        document["file_name"] = stored.filename
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return {"document": document}


def _image_size(data: bytes) -> tuple[int, int]:
    """Read PNG dimensions from the header; other formats report 0×0."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 0, 0
