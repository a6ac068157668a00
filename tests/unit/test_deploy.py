"""deploy/: the Prometheus alert rules and the Grafana dashboard name only metrics the bot has."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Our own series and prometheus_client's process collector's; PromQL's functions, `up` and
# label names are left alone.
METRIC_NAME = re.compile(r"\b(?:carecircle|process)_[a-z0-9_]+\b")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def exposed_names() -> set[str]:
    """Every series name the bot's registry exposes, labelled children or not."""
    names = set()
    for family in Metrics().registry.collect():
        suffixes = SUFFIXES.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8")
    )
    return loaded


def dashboard_queries(node: Any) -> Iterator[str]:
    """Every PromQL text in the dashboard: panel targets and template variable queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            # A variable's "query" may be a bare word (a datasource type), not PromQL.
            promql = key in ("expr", "definition") or (key == "query" and "(" in str(value))
            if promql and isinstance(value, str):
                yield value
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_queries(item)


def named(expressions: list[str]) -> set[str]:
    return {name for text in expressions for name in METRIC_NAME.findall(text)}


def test_the_registry_has_what_an_operator_needs() -> None:
    names = exposed_names()
    for name in (
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "carecircle_handler_errors_total",
        "carecircle_botapi_errors_total",
        "carecircle_newest_update_age_seconds",
        "carecircle_reminder_lateness_seconds_bucket",
    ):
        assert name in names


def test_every_metric_the_alerts_name_exists() -> None:
    expressions = [rule["expr"] for rule in alert_rules()]
    used = named(expressions)
    assert used - exposed_names() == set()
    for needed in (
        "carecircle_reminder_lateness_seconds_bucket",
        "carecircle_outbox_oldest_age_seconds",
        "carecircle_botapi_unreachable_seconds",
    ):
        assert needed in used


def test_every_metric_the_dashboard_names_exists() -> None:
    used = named(list(dashboard_queries(dashboard())))
    assert used, "no queries found in the dashboard"
    assert used - exposed_names() == set()


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_each_alert_says_how_bad_and_what_to_do(rule: dict[str, Any]) -> None:
    assert rule["alert"].startswith("Carecircle")
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    expression = rule["expr"]
    assert expression.count("(") == expression.count(")")
    assert expression.count("{") == expression.count("}")


def test_the_dashboard_panels_are_unique_and_query_the_chosen_datasource() -> None:
    board = dashboard()
    panels = board["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].count("(") == target["expr"].count(")")
