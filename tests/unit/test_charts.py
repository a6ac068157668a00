"""The /progress chart is a real PNG of the right size, with and without doses."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from bot.charts import HEIGHT, WIDTH, pain_chart

DAYS = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(14)]


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data))


def test_chart_is_a_png() -> None:
    image = open_png(pain_chart(DAYS, {DAYS[0]: 8, DAYS[5]: 4, DAYS[13]: 2}, [(DAYS[5], "easing")]))
    assert image.size == (WIDTH, HEIGHT)


def test_severe_days_are_drawn_red_and_mild_ones_green() -> None:
    image = open_png(pain_chart(DAYS, {DAYS[0]: 9, DAYS[13]: 1}, [])).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=WIDTH * HEIGHT) or []}
    assert (229, 57, 53) in colours  # severe
    assert (102, 187, 106) in colours  # mild
    assert (255, 179, 0) not in colours  # no moderate day


def test_doses_add_a_row_beneath() -> None:
    without = pain_chart(DAYS, {DAYS[3]: 5}, [])
    with_doses = pain_chart(DAYS, {DAYS[3]: 5}, [], {day: 3 for day in DAYS})
    assert without != with_doses
    open_png(with_doses)


def test_marks_outside_the_window_are_ignored() -> None:
    open_png(pain_chart(DAYS, {DAYS[3]: 5}, [(dt.date(2025, 1, 1), "acute")]))
