"""Needs keyboards: asking, offers, the lists, quiet hours and time away."""

from __future__ import annotations

from collections.abc import Sequence

from bot import texts
from bot.buttons import FROM_LIST, NeedVerb, QuietVerb, tap
from bot.domain.needs import DeadlinePreset, NeedCard
from bot.keyboards.common import Rows
from bot.notify import Button

__all__ = [
    "away_choices",
    "need_categories",
    "need_confirm_cancel",
    "need_declined",
    "need_honest",
    "need_media",
    "need_offer",
    "need_owner",
    "need_post_again",
    "need_posted",
    "need_thank",
    "need_when",
    "needs_for_helper",
    "needs_for_patient",
    "quiet_choices",
]


def need_categories() -> Rows:
    """One tap each: a common need goes out with the second tap from the menu."""
    buttons = [
        Button(
            f"{emoji} {label}",
            tap(NeedVerb.OTHER) if key == "other" else tap(NeedVerb.CATEGORY, key),
        )
        for key, (emoji, label, _) in texts.NEED_CATEGORIES.items()
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def need_posted(need_id: int, urgent: bool) -> Rows:
    """After posting: the optional details, and a way back."""
    first = [Button(texts.BUTTON_ADD_NOTE, tap(NeedVerb.NOTE, need_id))]
    if not urgent:
        first.append(Button(texts.BUTTON_MAKE_URGENT, tap(NeedVerb.URGENT, need_id)))
    return [
        first,
        [
            Button(texts.BUTTON_BY_TIME, tap(NeedVerb.WHEN, need_id)),
            Button(texts.BUTTON_CANCEL_NEED, tap(NeedVerb.CANCEL, need_id)),
        ],
    ]


def need_when(need_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_IN_1H, tap(NeedVerb.WHEN_PRESET, need_id, DeadlinePreset.IN_1H)),
            Button(texts.BUTTON_IN_2H, tap(NeedVerb.WHEN_PRESET, need_id, DeadlinePreset.IN_2H)),
        ],
        [
            Button(texts.BUTTON_TODAY, tap(NeedVerb.WHEN_PRESET, need_id, DeadlinePreset.TODAY)),
            Button(texts.BUTTON_TYPE_TIME, tap(NeedVerb.WHEN_TYPE, need_id)),
        ],
    ]


def need_offer(need_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_I_WILL, tap(NeedVerb.CLAIM, need_id)),
            Button(texts.BUTTON_CANT_NOW, tap(NeedVerb.DECLINE, need_id)),
        ]
    ]


def need_declined(need_id: int) -> Rows:
    return [[Button(texts.BUTTON_CAN_AFTER_ALL, tap(NeedVerb.CLAIM, need_id))]]


def need_owner(need_id: int) -> Rows:
    return [
        [Button(texts.BUTTON_NEED_DONE, tap(NeedVerb.DONE, need_id))],
        [Button(texts.BUTTON_RELEASE, tap(NeedVerb.RELEASE, need_id))],
    ]


def need_thank(need_id: int) -> Rows:
    return [[Button(texts.BUTTON_THANK, tap(NeedVerb.THANK, need_id))]]


def need_honest(need_id: int, route_round: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_SEND_AGAIN, tap(NeedVerb.AGAIN, need_id, route_round)),
            # Someone may have taken it since: then the patient is asked first.
            Button(texts.BUTTON_CANCEL_NEED, tap(NeedVerb.CANCEL, need_id)),
        ]
    ]


def need_post_again(need_id: int, route_round: int) -> Rows:
    return [[Button(texts.BUTTON_POST_AGAIN, tap(NeedVerb.AGAIN, need_id, route_round))]]


def need_confirm_cancel(need_id: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_YES_CANCEL, tap(NeedVerb.CANCEL_YES, need_id)),
            Button(texts.BUTTON_KEEP_NEED, tap(NeedVerb.KEEP, need_id)),
        ]
    ]


def need_media(ref: int) -> Rows:
    return [
        [
            Button(texts.BUTTON_SEND_MEDIA, tap(NeedVerb.MEDIA_SEND, ref)),
            Button(texts.BUTTON_DONT_SEND, tap(NeedVerb.MEDIA_DROP, ref)),
        ]
    ]


def needs_for_patient(needs: Sequence[tuple[NeedCard, str, bool]]) -> Rows:
    """needs: (card, state, thanked). Buttons act on the list itself (the FROM_LIST flag)."""
    rows: list[list[Button]] = []
    for card, state, thanked in needs:
        label = texts.need_button_label(card)
        if state in ("open", "claimed"):
            rows.append([Button(f"✖️ Cancel: {label}", tap(NeedVerb.CANCEL, card.id, FROM_LIST))])
        elif state == "done" and not thanked:
            rows.append([Button(f"💛 Thank: {label}", tap(NeedVerb.THANK, card.id, FROM_LIST))])
    return rows


def needs_for_helper(open_ids: Sequence[NeedCard], mine: Sequence[NeedCard]) -> Rows:
    rows: list[list[Button]] = []
    for card in open_ids:
        label = texts.need_button_label(card)
        rows.append([Button(f"🙋 I'll do it: {label}", tap(NeedVerb.CLAIM, card.id, FROM_LIST))])
    for card in mine:
        label = texts.need_button_label(card)
        rows.append(
            [
                Button(f"✅ Done: {label}", tap(NeedVerb.DONE, card.id, FROM_LIST)),
                Button(texts.BUTTON_RELEASE_SHORT, tap(NeedVerb.RELEASE, card.id, FROM_LIST)),
            ]
        )
    return rows


def quiet_choices() -> Rows:
    return [
        [
            Button("22:00–07:00", tap(QuietVerb.SET, "2200", "0700")),
            Button("23:00–08:00", tap(QuietVerb.SET, "2300", "0800")),
        ],
        [Button(texts.BUTTON_QUIET_OFF, tap(QuietVerb.OFF))],
    ]


def away_choices() -> Rows:
    return [
        [Button(texts.away_days_button(d), tap(QuietVerb.AWAY, d)) for d in (1, 3, 7)],
        [Button(texts.BUTTON_AWAY_UNTIL_BACK, tap(QuietVerb.AWAY, 0))],
    ]
