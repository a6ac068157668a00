"""/settings, one place for what a person can set, and /privacy, what is kept and who sees it."""

from __future__ import annotations

from bot.texts.common import NOT_MEDICAL

__all__ = [
    "HUB_BUTTONS",
    "PRIVACY",
    "settings_hub",
]


def settings_hub(in_a_circle: bool) -> str:
    if not in_a_circle:
        return (
            "<b>Your settings</b>\n\n"
            "Your time zone and your data. Once you're in a circle, more shows up here — "
            "/start sets one up."
        )
    return "<b>Your settings</b>\n\nWhat would you like to change?"


# The hub's buttons, by what they open (bot.buttons.HubVerb's values; "circle" is the
# patient's circle settings).
HUB_BUTTONS = {
    "tz": "🕰 Time zone",
    "quiet": "🌙 Quiet hours",
    "tips": "🌿 Daily care tips",
    "checkin": "📋 Daily check-in",
    "circle": "👥 Circle settings",
    "privacy": "🔒 Privacy and your data",
}

PRIVACY = (
    "<b>Your privacy</b>\n\n"
    "<b>What I keep:</b> your Telegram name and username, your time zone and quiet hours, "
    "and what you do here — requests, medications and doses, pain scores, your recovery "
    "stage and check-ins. A shared location only sets your time zone; I never keep the place.\n\n"
    "<b>Who sees what:</b>\n"
    "• <b>Close family</b> get your requests, hear if a medication dose goes unconfirmed, "
    "and see your medications and doses.\n"
    "• <b>Errand helpers</b> get your requests only: never a medication or a dose.\n"
    "• Your pain scores, stage and check-ins stay with you. Close family hear of your pain "
    "only when you tap <b>Let my helpers know</b>, and are asked to look in if you miss a "
    "check-in (/circle ▸ Settings switches that off).\n"
    "• If you help someone, they see your name and what you take on.\n\n"
    "/export sends you a copy of everything I keep about you.\n"
    "/deletemydata deletes it all (I ask first; it can't be undone).\n\n" + NOT_MEDICAL
)
