"""The baseline: a minimal python-telegram-bot bot with one JobQueue job per message."""
