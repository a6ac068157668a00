"""pyproject.toml's dependencies and the lock files that pin them: what CI, `make` and the image
install must be what pyproject asks for, the image gets no test or benchmark tools, and every
lower bound admits only versions the code can run on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"


def project() -> dict[str, object]:
    loaded = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert isinstance(loaded, dict)
    return loaded


def requirements(extra: str | None = None) -> list[Requirement]:
    table = project()
    listed = table["dependencies"] if extra is None else table["optional-dependencies"][extra]  # type: ignore[index]
    return [Requirement(line) for line in listed]


def pins(lock: Path) -> dict[str, Version]:
    """name -> pinned version; each pin must carry hashes, or pip refuses the whole file."""
    pinned: dict[str, Version] = {}
    lines = lock.read_text().splitlines()
    for number, line in enumerate(lines):
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.removesuffix("\\").strip())
        [specifier] = requirement.specifier
        assert specifier.operator == "==", line
        assert lines[number + 1].strip().startswith("--hash=sha256:"), f"{line}: no hash"
        pinned[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pinned


def test_both_locks_exist_and_agree_on_every_runtime_pin() -> None:
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    assert runtime
    assert {name: dev.get(name) for name in runtime} == runtime


@pytest.mark.parametrize(
    "lock, extras", [(RUNTIME_LOCK, [None]), (DEV_LOCK, [None, "test", "bench"])]
)
def test_the_lock_satisfies_pyproject(lock: Path, extras: list[str | None]) -> None:
    """A dependency added to pyproject.toml without `make lock` fails here, not in production."""
    pinned = pins(lock)
    for extra in extras:
        for requirement in requirements(extra):
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{requirement} is not in {lock.name}: run `make lock`"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{lock.name} pins {name}=={pinned[name]}, pyproject wants {requirement}"
            )


@pytest.mark.parametrize(
    "tool", ["pytest", "hypothesis", "ruff", "mypy", "pyyaml", "setuptools", "aiolimiter"]
)
def test_the_runtime_lock_leaves_out_test_and_benchmark_tools(tool: str) -> None:
    assert tool not in pins(RUNTIME_LOCK)
    assert tool in pins(DEV_LOCK)


def test_the_webhook_needs_no_tornado() -> None:
    # bot/web.py serves the webhook with aiohttp; PTB's "webhooks" extra would only add tornado.
    assert "tornado" not in pins(RUNTIME_LOCK) | pins(DEV_LOCK)
    [ptb] = [r for r in requirements() if r.name == "python-telegram-bot"]
    assert ptb.extras == {"job-queue"}


def test_only_the_benchmark_baseline_asks_for_ptbs_rate_limiter() -> None:
    [ptb] = [r for r in requirements("bench") if r.name == "python-telegram-bot"]
    assert ptb.extras == {"rate-limiter"}
    assert "AIORateLimiter" in (REPO / "bench" / "baseline" / "__main__.py").read_text()
    assert "AIORateLimiter" not in (REPO / "bot" / "app.py").read_text()


def test_pillow_is_new_enough_for_the_charts_scalable_default_font() -> None:
    # bot/charts.py calls ImageFont.load_default(size=…), which arrived in Pillow 10.1.
    [pillow] = [r for r in requirements() if r.name.lower() == "pillow"]
    assert not pillow.specifier.contains("10.0.1")
    assert pillow.specifier.contains("10.1.0")


def test_the_locked_setuptools_can_build_carecircle() -> None:
    # `make` installs carecircle with --no-build-isolation: the build backend comes from the lock.
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    pinned = pins(DEV_LOCK)
    for requirement in map(Requirement, build):
        assert requirement.specifier.contains(pinned[canonicalize_name(requirement.name)])
