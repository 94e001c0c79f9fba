"""noa_ops/k8s_monitoring.py: the PrometheusRule is the rule file under `spec:`."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from noa_ops import k8s_monitoring

from .helpers import REPO


def rule_file() -> str:
    return (REPO / k8s_monitoring.RULE_FILE).read_text()


def test_the_prometheus_rule_carries_the_rule_file_s_groups_exactly() -> None:
    manifest: dict[str, Any] = yaml.safe_load(k8s_monitoring.prometheus_rule(rule_file()))
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["metadata"]["name"] == k8s_monitoring.RULE_NAME
    assert manifest["spec"] == yaml.safe_load(rule_file())


def test_the_rule_file_s_comments_come_along_indented() -> None:
    generated = k8s_monitoring.prometheus_rule(rule_file())
    assert "        # llama has its own alert below: its outage is one alert, not two.\n" in generated


def test_the_committed_prometheus_rule_is_fresh() -> None:
    """`invoke docs` writes it; tests/unit/ops/test_docs.py checks every generated file, this one
    by name so a stale PrometheusRule says which file to regenerate."""
    committed = (REPO / k8s_monitoring.PROMETHEUS_RULE).read_text()
    assert committed == k8s_monitoring.prometheus_rule(rule_file()), "regenerate with `invoke docs`"


def test_a_changed_threshold_makes_it_stale() -> None:
    changed = rule_file().replace("> 2\n", "> 3\n", 1)
    assert changed != rule_file()
    assert k8s_monitoring.prometheus_rule(changed) != (REPO / k8s_monitoring.PROMETHEUS_RULE).read_text()


@pytest.mark.parametrize(
    ("text", "found"),
    [("groups: []\nextra: 1\n", "['groups', 'extra']"), ("rules: []\n", "['rules']"), ("# only\n", "none")],
)
def test_a_rule_file_that_is_not_one_groups_key_is_one_clear_error(text: str, found: str) -> None:
    with pytest.raises(k8s_monitoring.RuleFileError) as caught:
        k8s_monitoring.prometheus_rule(text)
    assert str(caught.value) == (
        f"{k8s_monitoring.RULE_FILE}: expected one top-level key, groups; found {found}")


def test_a_leading_comment_block_is_not_a_key() -> None:
    """The near miss: comments and blank lines before `groups:` are the file's header, dropped."""
    assert k8s_monitoring.rule_body("# header\n\ngroups: []\n") == "groups: []\n"
