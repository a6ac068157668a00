"""Delivery: the outbox sender, its database steps and its rules for failed sends.

claim (conditional update, with a lease) → commit → send → record the message id; every
message to someone else leaves the bot this way, within Telegram's limits.
"""

from __future__ import annotations

from bot.delivery.sender import Delivered, OnDelivered, OutboxSender, SenderConfig

__all__ = ["Delivered", "OnDelivered", "OutboxSender", "SenderConfig"]
