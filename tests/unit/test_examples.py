"""Examples people see use neutral placeholders ("Medicine A | 1 tablet | 08:00"), never a
plausible regimen such as a real medicine with a real strength: a reader may copy one."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import texts
from bot.domain.meds import parse_one_line

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = "Medicine A | 1 tablet | 08:00"

# Real medicines (generic and brand names) an example might reach for.
MEDICINES = re.compile(
    r"\b(?:ibuprofen|paracetamol|acetaminophen|naproxen|aspirin|diclofenac|celecoxib|"
    r"meloxicam|ketoprofen|codeine|tramadol|oxycodone|hydrocodone|morphine|diazepam|valium|"
    r"cyclobenzaprine|flexeril|methocarbamol|tizanidine|baclofen|carisoprodol|gabapentin|"
    r"pregabalin|prednisone|advil|motrin|nurofen|aleve|tylenol|panadol|amoxicillin|"
    r"metformin|omeprazole|vitamin\s*[a-z]?\d*)\b",
    re.IGNORECASE,
)
# A strength ("400 mg", "5ml", "0.5 mcg"); "1 tablet" is the neutral placeholder.
STRENGTH = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ml|iu)\b", re.IGNORECASE)


def strings_in(path: Path) -> Iterator[str]:
    """Every string literal of a module (f-string parts too), docstrings left out: what a
    person can be shown."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value


def offending(text: str) -> list[str]:
    return [m.group(0) for rule in (MEDICINES, STRENGTH) for m in rule.finditer(text)]


@pytest.mark.parametrize(
    "path", sorted((REPO / "bot").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO))
)
def test_the_bot_shows_no_real_medicine_or_strength_as_an_example(path: Path) -> None:
    found = [(text, offending(text)) for text in strings_in(path) if offending(text)]
    assert found == []


def test_the_readme_examples_use_placeholders() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert offending(readme) == []


@pytest.mark.parametrize(
    "text",
    ["/addmed Ibuprofen | 400 mg | 08:00", "Time for Paracetamol 500 mg", "Vitamin D 5ml"],
)
def test_the_rules_catch_a_plausible_regimen(text: str) -> None:
    assert offending(text)


def test_the_one_line_hint_shows_the_placeholder_and_it_works_as_typed() -> None:
    assert PLACEHOLDER in texts.MED_INPUT["one_line"]
    line = parse_one_line(PLACEHOLDER)
    assert (line.name, line.dose) == ("Medicine A", "1 tablet")


def test_product_md_s_own_example_still_works_for_automated_checks() -> None:
    line = parse_one_line("Ibuprofen | 400 mg | 08:00, 14:00, 20:00")
    assert (line.name, line.dose) == ("Ibuprofen", "400 mg")
