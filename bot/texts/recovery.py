"""Recovery: stages, care tips, pain check-ins, /progress."""

from __future__ import annotations

import datetime as dt

from bot.texts.common import _join_names, esc
from bot.texts.times import _day, zone_name

__all__ = [
    "ASK_STAGE",
    "BUTTON_ANOTHER_TIP",
    "BUTTON_CHECKIN_OFF",
    "BUTTON_CHECKIN_ON",
    "BUTTON_TELL_HELPERS",
    "BUTTON_TIPS_OFF",
    "BUTTON_TIPS_ON",
    "CHART_DOSES",
    "CHART_TITLE",
    "CHECKIN_NUDGE",
    "CHECKIN_QUESTION",
    "CHECKIN_USAGE",
    "EXERCISE_PAUSED",
    "FLARE_DECLINED",
    "PAIN_ASK",
    "PROGRESS_EMPTY",
    "SEVERE_PAIN",
    "STAGE_BUTTONS",
    "STAGE_HINTS",
    "STAGE_LABELS",
    "SUGGESTIONS",
    "SUGGESTION_DECLINED",
    "TIPS_USAGE",
    "button_helper_tips",
    "button_switch_stage",
    "checkin_set",
    "checkin_status",
    "daily_tip",
    "first_stage_set",
    "helper_tip",
    "helper_tips_set",
    "helpers_told",
    "lookin_asked",
    "lookin_request",
    "pain_recorded",
    "progress_caption",
    "severe_pain_alert",
    "severe_pain_kept",
    "stage_button",
    "stage_label",
    "stage_set",
    "stage_switched",
    "stage_view",
    "tip_now",
    "tips_set",
    "tips_status",
]

STAGE_LABELS = {
    "acute": "Acute flare",
    "easing": "Easing",
    "strengthening": "Strengthening",
    "staying-well": "Staying well",
    "not-improving": "Not getting better",
}
STAGE_HINTS = {
    "acute": "Spasms and inflammation; you may have been told to rest in bed.",
    "easing": "The inflammation has gone down a bit.",
    "strengthening": "Building up your back's strength.",
    "staying-well": "The weeks and months ahead: keeping your muscles strong and loose.",
    "not-improving": "Time to see a doctor or a specialist, or try a different therapy.",
}
STAGE_BUTTONS = {
    "acute": "😣 Acute flare",
    "easing": "🙂 Easing",
    "strengthening": "💪 Strengthening",
    "staying-well": "🌿 Staying well",
    "not-improving": "😟 Not getting better",
}


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


def stage_button(stage: str, current: bool) -> str:
    return f"✅ {STAGE_LABELS[stage]}" if current else STAGE_BUTTONS[stage]


ASK_STAGE = (
    "One more thing: <b>how is your back today?</b>\n"
    "Tap what fits best. It decides which care tips I send; /stage changes it any time."
)


def first_stage_set(stage: str) -> str:
    return f"Got it: <b>{stage_label(stage)}</b>. I'll keep my care tips to that. 🌿"


def stage_view(stage: str, since: str) -> str:
    return (
        f"Your recovery stage: <b>{stage_label(stage)}</b> (since {esc(since)}).\n"
        f"<i>{STAGE_HINTS.get(stage, '')}</i>\n\nTap to change it:"
    )


def stage_set(stage: str, changed: bool) -> str:
    if not changed:
        return f"You're already in <b>{stage_label(stage)}</b>. /tip gives you a tip for it."
    return (
        f"Stage set: <b>{stage_label(stage)}</b>. My tips follow it from now on — /tip for one now."
    )


# Care tips
BUTTON_ANOTHER_TIP = "Another tip"


# While "Back to acute?" waits for an answer after a flare-up.
EXERCISE_PAUSED = (
    "<i>Exercise tips wait until you answer “Back to acute?” — or pick your stage with /stage.</i>"
)


def tip_now(text: str, stage: str, exercise_paused: bool = False) -> str:
    tip = f"🌿 <b>A tip for your stage</b> · {stage_label(stage)}\n\n{esc(text)}"
    return f"{tip}\n\n{EXERCISE_PAUSED}" if exercise_paused else tip


def daily_tip(text: str, stage: str, exercise_paused: bool = False) -> str:
    paused = f"{EXERCISE_PAUSED}\n" if exercise_paused else ""
    return (
        f"🌿 <b>Today's tip</b> · {stage_label(stage)}\n\n{esc(text)}\n\n"
        f"{paused}<i>/tips changes the time or turns these off.</i>"
    )


def helper_tip(patient_name: str, text: str) -> str:
    return (
        f"💛 <b>A tip for helping {esc(patient_name)}</b>\n\n{esc(text)}\n\n"
        "<i>/tips helper off stops these.</i>"
    )


def tips_status(
    patient: tuple[bool, str] | None, helping: list[tuple[str, bool]], timezone: str | None
) -> str:
    """patient: (on, "HH:MM") of their daily tip; helping: (patient name, on) per circle."""
    lines = []
    if patient is not None:
        on, at = patient
        where = f" ({esc(zone_name(timezone))} time)" if timezone else ""
        lines.append(
            f"🌿 Your daily tip comes at <b>{at}</b>{where}."
            if on
            else "🌿 Your daily tips are <b>off</b>."
        )
        lines.append("Change the time with <code>/tips 09:00</code>, or <code>/tips off</code>.")
    if helping:
        if lines:
            lines.append("")
        lines.append("💛 <b>Tips for helping</b> (one a day, at the patient's tip time):")
        lines += [f"• {esc(name)}: {'on' if on else 'off'}" for name, on in helping]
        lines.append("Tap to switch, or <code>/tips helper on</code> / <code>off</code>.")
    return "\n".join(lines)


def tips_set(on: bool, at: str) -> str:
    if on:
        return f"🌿 I'll send you a care tip every day at <b>{at}</b> (your time)."
    return "Daily tips are off. <code>/tips 10:00</code> turns them back on."


def helper_tips_set(helping: list[tuple[str, bool]]) -> str:
    on = [name for name, is_on in helping if is_on]
    if not on:
        return "Helper tips are off. <code>/tips helper on</code> brings them back."
    return (
        f"💛 You'll get a short tip a day on helping {esc(_join_names(on))}. "
        "<code>/tips helper off</code> stops them."
    )


TIPS_USAGE = (
    "I couldn't read that. Try <code>/tips 09:00</code>, <code>/tips off</code>, "
    "or for helpers <code>/tips helper on</code>."
)
BUTTON_TIPS_OFF = "Turn daily tips off"
BUTTON_TIPS_ON = "Turn daily tips on"


def button_helper_tips(patient_name: str, on: bool) -> str:
    return f"{'✅' if on else '⬜'} Tips for helping {patient_name}"


# Pain and the daily check-in
CHECKIN_QUESTION = (
    "🌿 <b>How's your back today?</b>\nOne tap: 0 is no pain, 10 the worst you can imagine."
)
CHECKIN_NUDGE = "Just checking in 💛 How's your back today? One tap is enough."
PAIN_ASK = "How's your back right now? Tap a number: 0 is no pain, 10 the worst."


def checkin_status(on: bool, at: str) -> str:
    if not on:
        return "Your daily check-in is <b>off</b>. <code>/checkin 11:00</code> turns it back on."
    return (
        f"I ask how your back is every day at <b>{at}</b>. No answer by the evening: one "
        "gentle nudge; still nothing next morning: I ask close family to look in "
        "(switch that in /circle ▸ Settings).\n"
        "Change the time with <code>/checkin 09:30</code>, or <code>/checkin off</code>."
    )


def checkin_set(on: bool, at: str) -> str:
    if on:
        return f"I'll ask how your back is every day at <b>{at}</b>. 🌿"
    return "Daily check-ins are off. <code>/checkin on</code> turns them back on."


CHECKIN_USAGE = (
    "I couldn't read that. Try <code>/checkin 09:30</code> or <code>/checkin off</code>."
)
BUTTON_CHECKIN_OFF = "Turn check-ins off"
BUTTON_CHECKIN_ON = "Turn check-ins on"

SUGGESTIONS = {
    "flare": (
        "That sounds like a flare-up. <b>Back to acute?</b> Until you answer, I'll hold back "
        "the exercise tips."
    ),
    "high_again": (
        "Your pain has been 6 or more on two of the last three days. Is it a flare-up? "
        "<b>Back to acute?</b> Until you answer, I'll hold back the exercise tips."
    ),
    "easing_ready": (
        "Your pain has been 4 or lower on two days in a row. Has the inflammation gone down a "
        "bit? If so, the <b>easing</b> stage may fit you now."
    ),
    "strengthening_ready": (
        "Your pain has been 2 or lower on three days. Maybe it's time for the "
        "<b>strengthening</b> stage?"
    ),
    "rising": (
        "Your pain has gone up three days running. If things aren't getting better, it may be "
        "time to see a doctor or a specialist, or try a different therapy. I have tips for that."
    ),
    "no_improvement": (
        "You've been in the acute stage for a week and the pain isn't easing. It may be time "
        "to see a doctor or a specialist, or try a different therapy. I have tips for that."
    ),
}
SEVERE_PAIN = (
    "That's a lot of pain. 💛 If it's this bad, please <b>contact your doctor</b>. "
    "I can let your close family know, if you like."
)


def severe_pain_kept(answer: str) -> str:
    """A stage question answered on a severe report: the advice stays above the answer."""
    return f"{SEVERE_PAIN}\n\n{answer}"


def pain_recorded(score: int, severe: bool, suggestion: str | None) -> str:
    parts = [f"Noted: <b>{score}/10</b>. Thank you. 💛"]
    if severe:
        parts.append(SEVERE_PAIN)
    if suggestion is not None:
        parts.append(SUGGESTIONS[suggestion])
    return "\n\n".join(parts)


def button_switch_stage(stage: str) -> str:
    if stage == "not-improving":
        return "Yes, show those tips"
    if stage == "acute":
        return "Yes, back to acute"
    return f"Yes, switch to {stage_label(stage).lower()}"


BUTTON_TELL_HELPERS = "Let my helpers know"
SUGGESTION_DECLINED = (
    "Okay, we'll stay where we are. I won't suggest that again for a few days; "
    "/stage changes it whenever you like."
)
FLARE_DECLINED = (
    "Okay, we'll stay where we are, and the exercise tips are back. If your pain reaches 8 or "
    "more, I'll ask again; /stage changes it whenever you like."
)


def stage_switched(stage: str) -> str:
    if stage == "not-improving":
        return (
            "Okay. My tips now focus on what to do when things aren't getting better — "
            "/tip for one. 💛"
        )
    return f"Done: you're in <b>{stage_label(stage)}</b> now. My tips follow it — /tip for one."


def helpers_told(names: list[str]) -> str:
    if not names:
        return (
            "There's no close family in your circle I can reach yet. If you need help now, "
            "please call someone or your doctor. /invite brings family in."
        )
    return (
        f"I've let {esc(_join_names(names))} know. 💛 "
        "Please contact your doctor if it stays this bad."
    )


def severe_pain_alert(patient_name: str, score: int) -> str:
    return (
        f"⚠️ <b>{esc(patient_name)}</b>'s back pain is very bad right now ({score}/10). "
        "They asked me to let you know. Could you check on them?"
    )


def lookin_request(patient_name: str, since: str = "yesterday") -> str:
    return (
        f"💛 <b>{esc(patient_name)}</b> hasn't answered my daily check-in since {since}. "
        "Could you look in on them, or give them a call?"
    )


def lookin_asked(helper_name: str, since: str = "yesterday") -> str:
    return (
        f"I haven't heard from you since {since}'s check-in, so I've asked "
        f"<b>{esc(helper_name)}</b> to look in on you. 💛\n"
        "<i>You can switch this off in /circle ▸ Settings.</i>"
    )


# /progress
PROGRESS_EMPTY = (
    "No pain scores in the last 14 days yet. Send <code>/pain 4</code> (0–10) or answer the "
    "daily check-in, and /progress will draw your chart."
)
CHART_TITLE = "Pain, last 14 days (highest each day)"
CHART_DOSES = "doses"


def progress_caption(
    pain: list[tuple[dt.date, int]],
    days: int,
    reports: int,
    stage: str,
    since: str,
    doses_total: int | None,
) -> str:
    """pain: (local date, the day's highest score) for days with a report, oldest first."""
    (first_day, first), (last_day, last) = pain[0], pain[-1]
    average = sum(score for _, score in pain) / len(pain)
    if len(pain) == 1:
        trend = f"Pain {last}/10 on {_day(last_day)}."
    else:
        direction = "down" if last < first else "up" if last > first else "about the same"
        trend = (
            f"Pain from {first}/10 ({_day(first_day)}) to {last}/10 ({_day(last_day)}): "
            f"{direction}. Average {average:.1f}."
        )
    lines = [
        f"<b>Your last {days} days</b>",
        trend,
        f"{reports} score{'s' if reports != 1 else ''} on {len(pain)} of {days} days.",
        f"Stage: <b>{stage_label(stage)}</b> since {esc(since)}.",
    ]
    if doses_total is not None:
        lines.append(f"Doses taken: {doses_total}.")
    return "\n".join(lines)
