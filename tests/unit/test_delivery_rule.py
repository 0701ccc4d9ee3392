"""A send with an unknown outcome: which errors may be repeated, which kinds are re-sent."""

from __future__ import annotations

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from bot.delivery import never_left, resends_uncertain

REQUEST = httpx.Request("POST", "http://127.0.0.1/bot1:x/sendMessage")


def raised(exc: NetworkError, cause: Exception | None) -> NetworkError:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    "cause",
    [
        httpx.ConnectError("refused", request=REQUEST),
        httpx.ConnectTimeout("connect", request=REQUEST),
        httpx.PoolTimeout("pool", request=REQUEST),
    ],
)
def test_errors_before_the_request_was_written_may_be_repeated(cause):
    wrapper = TimedOut() if isinstance(cause, httpx.TimeoutException) else NetworkError("x")
    assert never_left(raised(wrapper, cause))


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (TimedOut(), httpx.ReadTimeout("read", request=REQUEST)),
        (TimedOut(), httpx.WriteTimeout("write", request=REQUEST)),
        (NetworkError("dropped"), httpx.RemoteProtocolError("no answer", request=REQUEST)),
        (NetworkError("reset"), httpx.ReadError("reset", request=REQUEST)),
        (NetworkError("Bad Gateway"), None),  # an HTTP 5xx: a gateway may have passed it on
    ],
)
def test_errors_after_the_request_may_have_arrived_are_uncertain(exc, cause):
    assert not never_left(raised(exc, cause))


def test_only_the_secretaries_one_off_messages_are_sent_once_more():
    assert resends_uncertain("digest") and resends_uncertain("digest.chart")
    assert resends_uncertain("where.warn") and resends_uncertain("where.lost")
    for kind in ("study.reminder", "study.followup", "pledge.ask", "pledge.report", "where.ask"):
        assert not resends_uncertain(kind)
