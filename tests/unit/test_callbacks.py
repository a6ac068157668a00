"""Button payloads: short, versioned, and anything we did not make is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks as cb

PART = st.from_regex(r"[A-Za-z0-9_\-.]{1,10}", fullmatch=True)


@given(ns=PART, verb=PART, args=st.lists(PART, max_size=3))
def test_what_we_encode_parses_back(ns: str, verb: str, args: list[str]) -> None:
    data = cb.encode(ns, verb, *args)
    assert len(data.encode()) <= cb.MAX_BYTES
    assert cb.parse(data) == cb.Callback(ns, verb, tuple(args))


@given(st.text(max_size=100))
def test_parse_never_raises_on_junk(data: str) -> None:
    parsed = cb.parse(data)
    assert parsed is None or (parsed.ns and parsed.verb)


@pytest.mark.parametrize(
    "forged",
    ["", "0:circle:rm:5", "1:circle", "1::rm", "1:circle:rm:5;drop", "x" * 65, "1:c:v:" + "9" * 60],
)
def test_forged_or_old_payloads_are_refused(forged: str) -> None:
    assert cb.parse(forged) is None


def test_payloads_longer_than_telegram_allows_are_refused_when_built() -> None:
    with pytest.raises(cb.CallbackTooLong):
        cb.encode("ns", "verb", "a" * 30, "b" * 30)


@pytest.mark.parametrize("arg, expected", [("42", 42), ("0", None), ("-1", None), ("x", None)])
def test_int_arg_accepts_only_positive_ids(arg: str, expected: int | None) -> None:
    assert cb.Callback("circle", "rm", (arg,)).int_arg() == expected
    assert cb.Callback("circle", "rm", ()).int_arg() is None
