"""One structured log line per event, with ids only: health data never reaches the logs."""

from __future__ import annotations

import logging

SAFE_TYPES = (int, float, bool, type(None))


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **ids: object) -> None:
    """Log `event=<name> key=value …`. Values must be ids, counts or short codes, never text
    a person wrote: strings are only allowed for short machine words (kinds, states, reasons).
    """
    if not logger.isEnabledFor(level):
        return
    parts = [f"event={event}"]
    for key, value in ids.items():
        if not isinstance(value, SAFE_TYPES):
            value = str(value)
            if len(value) > 40 or " " in value:
                value = "<redacted>"
        parts.append(f"{key}={value}")
    logger.log(level, " ".join(parts))
