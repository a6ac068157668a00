"""The tips file keeps its promises: enough tips, every paragraph, every stage, helpers too."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.recovery import Stage
from bot.domain.tips import MAX_TIP_LENGTH, PARAGRAPHS, TipsFileError, load_tips

BOOK = load_tips()
MEDICATION_WORDS = re.compile(r"pill|medication|prescri|calming agent|drug", re.IGNORECASE)
DOSING_WORDS = re.compile(r"\d\s*(mg|ml|g)\b|\btwice\b|\bevery \d|\bdaily dose|\btake \d", re.I)


def test_at_least_24_tips() -> None:
    assert len(BOOK.tips) >= 24


def test_every_paragraph_of_the_article_is_used() -> None:
    used = {p for tip in BOOK.tips for p in tip.paragraphs}
    assert used == set(PARAGRAPHS)


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_at_least_three_patient_tips(stage: Stage) -> None:
    assert len(BOOK.for_stage(stage, "patient")) >= 3


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_a_helper_tip(stage: Stage) -> None:
    assert BOOK.for_stage(stage, "helper")


def test_helper_tips_cover_errands_basic_tasks_and_bed_rest() -> None:
    helper_texts = " ".join(t.text.lower() for t in BOOK.tips if t.audience == "helper")
    assert "errand" in helper_texts
    assert "basic living tasks" in helper_texts
    assert "rest in bed" in helper_texts


def test_no_two_tips_share_a_text_or_an_id() -> None:
    texts = Counter(t.text.strip().lower() for t in BOOK.tips)
    assert [text for text, n in texts.items() if n > 1] == []
    assert len({t.id for t in BOOK.tips}) == len(BOOK.tips)


def test_tips_are_short_and_cite_real_paragraphs() -> None:
    for tip in BOOK.tips:
        assert 0 < len(tip.text) <= MAX_TIP_LENGTH, tip.id
        assert tip.paragraphs and set(tip.paragraphs) <= set(PARAGRAPHS), tip.id
        assert tip.audience in ("patient", "helper"), tip.id


def test_medication_tips_point_to_the_label_or_doctor_and_never_dose() -> None:
    medication = [t for t in BOOK.tips if MEDICATION_WORDS.search(t.text)]
    assert medication, "the article's P2, P3 and P6 are about medication"
    for tip in medication:
        lowered = tip.text.lower()
        assert any(w in lowered for w in ("label", "bottle", "doctor")), tip.id
        assert not DOSING_WORDS.search(tip.text), tip.id


def test_tips_are_safe_in_html_messages() -> None:
    for tip in BOOK.tips:
        assert not set("<>&") & set(tip.text), tip.id


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('stages = ["acute"]\naudience = "patient"\ntext = "x"\nparagraphs = ["P1"]', "id"),
        (
            'id = "a"\nstages = ["recovered"]\naudience = "patient"\ntext = "x"\n'
            'paragraphs = ["P1"]',
            "recovered",
        ),
        ('id = "a"\nstages = ["acute"]\naudience = "doctor"\ntext = "x"\nparagraphs = ["P1"]', "a"),
        (
            'id = "a"\nstages = ["acute"]\naudience = "patient"\ntext = "x"\nparagraphs = ["P8"]',
            "P1",
        ),
        (
            f'id = "a"\nstages = ["acute"]\naudience = "patient"\ntext = "{"x" * 301}"\n'
            'paragraphs = ["P1"]',
            "300",
        ),
    ],
)
def test_a_broken_tips_file_is_refused(tmp_path: Path, entry: str, problem: str) -> None:
    path = tmp_path / "tips.toml"
    path.write_text(f"[[tip]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(TipsFileError, match=problem):
        load_tips(path)


def test_two_tips_with_one_id_are_refused(tmp_path: Path) -> None:
    tip = (
        '[[tip]]\nid = "a"\nstages = ["acute"]\naudience = "patient"\n'
        'text = "{}"\nparagraphs = ["P1"]\n'
    )
    path = tmp_path / "tips.toml"
    path.write_text(tip.format("one") + tip.format("two"), encoding="utf-8")
    with pytest.raises(TipsFileError, match="id"):
        load_tips(path)
