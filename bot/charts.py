"""The /progress chart: pain over the last days as a PNG, stage changes marked, doses beneath."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from bot import texts

WIDTH, HEIGHT = 960, 560
LEFT, RIGHT, TOP = 70, 30, 70
PLOT_BOTTOM = 420
BACKGROUND = (255, 255, 255)
INK = (40, 44, 52)
GRID = (226, 230, 236)
MUTED = (140, 146, 156)
STAGE_INK = (92, 107, 192)
# Bar colours by the day's highest score: mild, moderate, severe.
MILD, MODERATE, SEVERE = (102, 187, 106), (255, 179, 0), (229, 57, 53)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _colour(score: int) -> tuple[int, int, int]:
    return MILD if score <= 3 else MODERATE if score <= 6 else SEVERE


def pain_chart(
    days: Sequence[dt.date],
    pain: Mapping[dt.date, int],
    stage_marks: Sequence[tuple[dt.date, str]],
    doses: Mapping[dt.date, int] | None = None,
) -> bytes:
    """A PNG: one bar per day (the day's highest pain, 0–10), a dashed line and the stage's name
    where a stage began, and the number of doses taken under each day when `doses` is given."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((LEFT, 22), texts.CHART_TITLE, fill=INK, font=_font(24))

    scale = (PLOT_BOTTOM - TOP) / 10
    for level in range(0, 11, 2):
        y = PLOT_BOTTOM - level * scale
        draw.line([(LEFT, y), (WIDTH - RIGHT, y)], fill=GRID, width=1)
        draw.text((LEFT - 12, y), str(level), fill=MUTED, font=_font(16), anchor="rm")

    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    for index, day in enumerate(days):
        centre = LEFT + slot * (index + 0.5)
        score = pain.get(day)
        if score is None:
            # No score that day: a small grey dot on the axis, not a zero.
            draw.ellipse(
                [(centre - 4, PLOT_BOTTOM - 12), (centre + 4, PLOT_BOTTOM - 4)], fill=MUTED
            )
        else:
            top = PLOT_BOTTOM - max(score, 0.15) * scale
            draw.rectangle(
                [(centre - slot * 0.3, top), (centre + slot * 0.3, PLOT_BOTTOM)],
                fill=_colour(score),
            )
            draw.text((centre, top - 4), str(score), fill=INK, font=_font(16), anchor="mb")
        draw.text(
            (centre, PLOT_BOTTOM + 8), day.strftime("%a"), fill=MUTED, font=_font(14), anchor="mt"
        )
        draw.text((centre, PLOT_BOTTOM + 26), str(day.day), fill=INK, font=_font(16), anchor="mt")

    for day, stage in stage_marks:
        if day not in days:
            continue
        x = LEFT + slot * days.index(day)
        for y in range(TOP, PLOT_BOTTOM, 12):
            draw.line([(x, y), (x, min(y + 6, PLOT_BOTTOM))], fill=STAGE_INK, width=2)
        draw.text((x + 4, TOP - 2), texts.stage_label(stage), fill=STAGE_INK, font=_font(15))

    if doses is not None:
        y = PLOT_BOTTOM + 62
        draw.text((LEFT - 12, y), texts.CHART_DOSES, fill=MUTED, font=_font(14), anchor="rm")
        for index, day in enumerate(days):
            centre = LEFT + slot * (index + 0.5)
            draw.text((centre, y), str(doses.get(day, 0)), fill=INK, font=_font(16), anchor="mm")

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
