"""Telegram's flood limits, kept by one object for everything this process sends.

budget.py is the arithmetic (spacing, per-chat gaps, 429 pauses) over an injected timer and
knows nothing of Telegram; ptb.py plugs it into PTB as the rate limiter for direct replies.
"""

from __future__ import annotations

from bot.ratelimit.budget import FloodBudget, Hold, RealTimer, Timer, TooLate
from bot.ratelimit.ptb import RESERVED, FloodControl, Reserved, retry_after_seconds

__all__ = [
    "RESERVED",
    "FloodBudget",
    "FloodControl",
    "Hold",
    "RealTimer",
    "Reserved",
    "Timer",
    "TooLate",
    "retry_after_seconds",
]
