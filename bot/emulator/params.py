"""Decode Bot API request parameters from query string, JSON, form or multipart bodies.

PTB's HTTPXRequest posts every parameter as a string (``application/x-www-form-urlencoded``,
or ``multipart/form-data`` when files are attached) with non-string values JSON-encoded,
so ``reply_markup`` arrives as a JSON string and ``chat_id`` as ``"123"``. This module
turns all of that back into typed values.

Example::

    params, files = await read_params(request)
    params["chat_id"]        # 1001 (int)
    params["reply_markup"]   # {"inline_keyboard": [...]} (dict)
    files["photo"].data      # uploaded bytes
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["UploadedFile", "coerce_params", "read_params"]

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
        "menu_button",
        "results",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "user_id",
        "message_thread_id",
        "reply_to_message_id",
        "cache_time",
        "from_chat_id",
    }
)
_FLOAT_FIELDS = frozenset({"timeout", "latitude", "longitude"})
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
    }
)


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Return ``(params, files)`` merged from the query string and the request body."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            raw.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = UploadedFile(
                        field=name,
                        filename=value.filename,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                else:
                    raw[name] = value
    return coerce_params(raw), files


def coerce_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Convert string-encoded parameter values to the types the methods expect."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            value = _coerce_string(name, value)
        params[name] = value
    return params


def _coerce_string(name: str, value: str) -> Any:
    """Decode one string value according to the parameter's known type."""
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"can't parse {name} JSON object") from exc
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value  # e.g. "@channelusername"
    if name in _FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value
