"""carecircle: a Telegram bot for a person on bed rest and the family around them."""

import os

# Opt in now to PTB's coming durations-as-timedelta (RetryAfter.retry_after and friends), so
# it stops warning on every 429; bot.ratelimit accepts both forms.
os.environ.setdefault("PTB_TIMEDELTA", "true")
