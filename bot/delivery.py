"""Placeholder contract for the delivery engine (being written)."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Bot

from bot.services import Services

__all__ = ["DeliveryReport", "deliver_due"]


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    expired: int = 0
    unreachable: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)


async def deliver_due(bot: Bot, services: Services) -> DeliveryReport:
    """Send every due outbox row (contract only; the engine replaces this)."""
    raise NotImplementedError
