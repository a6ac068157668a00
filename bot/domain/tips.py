"""The care tips (bot/content/tips.toml): loaded once, checked, looked up by stage and audience."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.domain.recovery import Stage

AUDIENCES = ("patient", "helper")
PARAGRAPHS = tuple(f"P{n}" for n in range(1, 8))
MAX_TIP_LENGTH = 300


class TipsFileError(ValueError):
    """The tips file breaks a rule; the bot refuses to start with it."""


@dataclass(frozen=True)
class Tip:
    id: str
    stages: tuple[Stage, ...]
    audience: str
    text: str
    paragraphs: tuple[str, ...]
    # About exercise (walking, strengthening, training): held back while a flare-up waits.
    exercise: bool = False


class TipBook:
    """All tips, in file order (the order a stage's tips are first shown in)."""

    def __init__(self, tips: Sequence[Tip]) -> None:
        self.tips = tuple(tips)
        self._by_id = {tip.id: tip for tip in self.tips}
        if len(self._by_id) != len(self.tips):
            raise TipsFileError("two tips share an id")

    def get(self, tip_id: str) -> Tip | None:
        return self._by_id.get(tip_id)

    def for_stage(self, stage: Stage, audience: str, *, exercise: bool = True) -> tuple[Tip, ...]:
        """The stage's tips for `audience`; without the exercise tips if `exercise` is False."""
        return tuple(
            t
            for t in self.tips
            if stage in t.stages and t.audience == audience and (exercise or not t.exercise)
        )


def default_tips_path() -> Path:
    return Path(str(resources.files("bot") / "content" / "tips.toml"))


def load_tips(path: Path | None = None) -> TipBook:
    """Read and check the tips file (each tip well-formed; see the file's header)."""
    source = path or default_tips_path()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TipsFileError(f"cannot read {source}: {error}") from error
    return TipBook([_tip(entry) for entry in data.get("tip", [])])


def _tip(entry: dict[str, object]) -> Tip:
    tip_id = entry.get("id")
    text = entry.get("text")
    audience = entry.get("audience")
    stages = entry.get("stages")
    paragraphs = entry.get("paragraphs")
    exercise = entry.get("exercise", False)
    if not isinstance(tip_id, str) or not tip_id:
        raise TipsFileError(f"a tip without an id: {entry!r}")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TIP_LENGTH:
        raise TipsFileError(f"tip {tip_id}: text must be 1–{MAX_TIP_LENGTH} characters")
    if audience not in AUDIENCES:
        raise TipsFileError(f"tip {tip_id}: audience must be one of {AUDIENCES}")
    if not isinstance(stages, list) or not stages:
        raise TipsFileError(f"tip {tip_id}: needs at least one stage")
    try:
        parsed_stages = tuple(Stage(s) for s in stages)
    except ValueError as error:
        raise TipsFileError(f"tip {tip_id}: {error}") from error
    if not isinstance(paragraphs, list) or not paragraphs:
        raise TipsFileError(f"tip {tip_id}: must cite at least one paragraph")
    if any(p not in PARAGRAPHS for p in paragraphs):
        raise TipsFileError(f"tip {tip_id}: paragraphs are P1–P7")
    if not isinstance(exercise, bool):
        raise TipsFileError(f"tip {tip_id}: exercise is true or false")
    assert isinstance(audience, str)
    return Tip(tip_id, parsed_stages, audience, text.strip(), tuple(paragraphs), exercise)
