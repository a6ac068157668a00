"""The tips file keeps its promises: enough tips, every paragraph, every stage, helpers too."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.recovery import Stage
from bot.domain.tips import (
    MAX_TIP_LENGTH,
    PARAGRAPHS,
    TipsFileError,
    default_tips_path,
    load_tips,
)

BOOK = load_tips()
# The article every tip comes from, as the project received it (shared/seed/back-spasms.txt).
ARTICLE = Path(__file__).resolve().parents[2] / "bot" / "content" / "back-spasms.txt"
RAW_TIPS = {t["id"]: t for t in tomllib.loads(default_tips_path().read_text("utf-8"))["tip"]}
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
        (
            'id = "a"\nstages = ["acute"]\naudience = "patient"\ntext = "x"\n'
            'paragraphs = ["P1"]\nexercise = "yes"',
            "exercise",
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


# --- the tips say only what the article says --------------------------------------------


def article_paragraphs() -> dict[str, str]:
    """P1–P7: the article's paragraphs after its title, each on one line of plain words."""
    blocks = [b for b in ARTICLE.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    title, *body = blocks
    assert title.strip() == "Back Spasms"
    return {f"P{n}": _plain(block) for n, block in enumerate(body, start=1)}


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip().lower()


def test_the_article_has_exactly_the_paragraphs_tips_may_cite() -> None:
    assert tuple(article_paragraphs()) == PARAGRAPHS


def test_every_tip_quotes_the_words_of_each_paragraph_it_cites() -> None:
    """Each tip lists (`says`) the article's own words behind it, verbatim: every quote is in
    a cited paragraph, and every cited paragraph backs the tip with at least one quote. A
    reviewer reads the tip next to its quotes; anything more is a claim of our own."""
    paragraphs = article_paragraphs()
    for tip in BOOK.tips:
        quotes = RAW_TIPS[tip.id].get("says")
        assert isinstance(quotes, list) and quotes, f"{tip.id}: no `says` quotes"
        backed: set[str] = set()
        for quote in quotes:
            found = {p for p in tip.paragraphs if _plain(quote) in paragraphs[p]}
            assert found, f"{tip.id}: {quote!r} is not in {', '.join(tip.paragraphs)}"
            backed |= found
        assert backed == set(tip.paragraphs), (
            f"{tip.id}: nothing quoted from {set(tip.paragraphs) - backed}"
        )


# Drugs and drug classes the article never names. It says only "prescribed drugs that will make
# the swelling decrease", "calming agents … over the counter", "prescription-strength
# medication" and "pills": tips may use those words, and no others.
DRUGS = re.compile(
    r"ibuprofen|naproxen|paracetamol|acetaminophen|aspirin|diclofenac|celecoxib|meloxicam|"
    r"ketoprofen|codeine|tramadol|oxycodone|morphine|opioid|diazepam|valium|cyclobenzaprine|"
    r"flexeril|methocarbamol|robaxin|tizanidine|baclofen|carisoprodol|orphenadrine|"
    r"metaxalone|gabapentin|pregabalin|prednison|steroid|lidocaine|advil|motrin|nurofen|"
    r"aleve|tylenol|panadol|nsaid|anti-?inflammator|muscle relax|painkiller|pain reliever|"
    r"pain relief",
    re.IGNORECASE,
)
_NUMBER = (
    r"(?:\d+(?:[.,]\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|fifteen|twenty|thirty|forty|fifty|sixty|half an?)"
)
DURATIONS = re.compile(
    rf"\b{_NUMBER}(?:\s*(?:-|–|to|or)\s*{_NUMBER})?[\s-]*"
    r"(?:min(?:ute)?s?|h(?:ou)?rs?|days?|nights?|weeks?|months?)\b",
    re.IGNORECASE,
)
DOSES = re.compile(
    rf"\b{_NUMBER}\s*(?:mg|mcg|µg|g|ml|iu|units?|tablets?|pills?|capsules?|caplets?|drops?|"
    r"puffs?|doses?|teaspoons?|tablespoons?|spoonfuls?)\b"
    r"|\b(?:once|twice|thrice|three times|four times)\s+(?:a|per|each)\s+day\b"
    r"|\bevery\s+\d",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Ibuprofen can ease the swelling.", DRUGS),
        ("A muscle relaxant from the pharmacy may help.", DRUGS),
        ("Over-the-counter pain relievers are an option.", DRUGS),
        ("Hold the ice pack there for 20 minutes.", DURATIONS),
        ("Rest for two days, then walk.", DURATIONS),
        ("Walk for half an hour.", DURATIONS),
        ("Rest 2-3 days.", DURATIONS),
        ("Take 400 mg with food.", DOSES),
        ("Two tablets at most.", DOSES),
        ("Twice a day is plenty.", DOSES),
        ("One dose every 6 hours.", DOSES),
    ],
)
def test_the_content_rules_catch_what_they_are_for(text: str, rule: re.Pattern[str]) -> None:
    assert rule.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "Your local pharmacy sells calming agents over the counter.",
        "If you've been told to rest in bed for a number of days, someone should be there.",
        "Regular massage should help prevent inflammation in the weeks and months ahead.",
        "Taking more pills than prescribed can do more harm than good.",
    ],
)
def test_the_content_rules_let_the_articles_own_words_through(text: str) -> None:
    assert not (DRUGS.search(text) or DURATIONS.search(text) or DOSES.search(text))


def test_no_tip_names_a_drug_a_duration_or_a_dose() -> None:
    for tip in BOOK.tips:
        for rule in (DRUGS, DURATIONS, DOSES):
            found = rule.search(tip.text)
            assert found is None, f"{tip.id}: {found.group(0)!r}"


# "prescription-strength medication" is not exercise.
EXERCISE_WORDS = re.compile(
    r"exercis|walk|(?<!prescription-)strength|training|weight|stretch", re.IGNORECASE
)


def test_tips_about_exercise_are_marked_so_a_flare_up_can_pause_them() -> None:
    for tip in BOOK.tips:
        assert tip.exercise == bool(EXERCISE_WORDS.search(tip.text)), tip.id


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("audience", ["patient", "helper"])
def test_every_stage_has_tips_that_are_not_exercise(stage: Stage, audience: str) -> None:
    """While a flare-up question waits, exercise tips pause: each stage still has others."""
    assert [t for t in BOOK.for_stage(stage, audience) if not t.exercise]


# Tips a review caught saying more than the article (issue 12): the article's hedge or
# condition each must keep, and the claim of our own each must not make again.
REVIEWED = [
    ("acute-why-it-hurts", ["likely", "may"], []),
    ("acute-over-the-counter", ["especially severe"], []),
    ("easing-a-little-exercise", [], ["good way", "can help"]),
    ("helper-walk-along", [], ["good way", "start exercising"]),
    ("staying-well-loose-and-strong", [], ["prevent", "spasm", "look after"]),
    ("helper-any-movement-hurts", ["likely", "may"], ["fetching", "carrying", "reaching"]),
    ("helper-massage-booking", ["should help", "inflammation"], ["inflammation away"]),
    ("helper-still-errands", ["rest in bed"], ["even as things ease"]),
]


@pytest.mark.parametrize(("tip_id", "kept", "dropped"), REVIEWED)
def test_reviewed_tips_keep_the_articles_hedges(
    tip_id: str, kept: list[str], dropped: list[str]
) -> None:
    tip = BOOK.get(tip_id)
    assert tip is not None
    text = tip.text.lower()
    assert [w for w in kept if w not in text] == []
    assert [w for w in dropped if w in text] == []


def test_calming_agents_are_not_offered_once_the_spasms_ease() -> None:
    # P2 ties medication to spasms that are "especially severe": not the easing stage's help.
    for stage in (Stage.EASING, Stage.STRENGTHENING, Stage.STAYING_WELL):
        for tip in BOOK.for_stage(stage, "helper"):
            assert "calming agent" not in tip.text.lower(), tip.id


@pytest.mark.parametrize(
    ("claim", "hedge"),
    [
        # P5: frequent massage keeps muscles loose, which "should help" prevent inflammation.
        (r"prevent", r"should help .*inflammation"),
        # P1: inflammation "is likely to" play a factor and "may" make muscles responsive.
        (r"inflammation.*(responsive|movement)", r"likely.*\bmay\b"),
    ],
)
def test_claims_keep_the_hedge_the_article_gives_them(claim: str, hedge: str) -> None:
    for tip in BOOK.tips:
        if re.search(claim, tip.text, re.IGNORECASE):
            assert re.search(hedge, tip.text, re.IGNORECASE), tip.id


def test_the_staying_well_stage_promises_nothing_the_article_does_not() -> None:
    from bot import texts

    hint = texts.STAGE_HINTS["staying-well"].lower()
    assert "spasm away" not in hint and "prevent" not in hint
