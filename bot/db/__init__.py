"""Persistence: SQLAlchemy models, sessions and migrations. No Telegram here."""
