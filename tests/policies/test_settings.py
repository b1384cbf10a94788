"""The policy settings: read once, validated at start with the variable named, part of each day's fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubebill.cli import main
from kubebill.errors import ConfigError
from kubebill.settings import Settings


def test_policy_settings_are_parsed() -> None:
    s = Settings.from_env(
        {
            "KUBEBILL_IDLE_SHARE": "Weighted",
            "KUBEBILL_IDLE_SHARE_SCOPE": "cluster",
            "KUBEBILL_SHARED_SPREAD": "even",
            "KUBEBILL_SHARED_NAMESPACES": " kube-system, monitoring ,kube-system",
            "KUBEBILL_SHARED_LABELS": "team = platform,app.kubernetes.io/part-of=infra",
            "KUBEBILL_NAMESPACE_TAGS": "kubernetes.io/namespace,team",
            "KUBEBILL_CLUSTER_TAGS": "aws:eks:cluster-name",
        }
    )
    assert (s.idle_share, s.idle_share_scope, s.shared_spread) == ("weighted", "cluster", "even")
    assert s.shared_namespaces == ("kube-system", "monitoring")
    assert s.shared_labels == ("team=platform", "app.kubernetes.io/part-of=infra")
    assert s.namespace_tags == ("kubernetes.io/namespace", "team")
    assert s.cluster_tags == ("aws:eks:cluster-name",)
    default = Settings.from_env({})
    assert (default.idle_share, default.shared_namespaces, default.namespace_tags) == ("none", (), ())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("KUBEBILL_IDLE_SHARE", "proportional", "one of none, weighted, even"),
        ("KUBEBILL_IDLE_SHARE_SCOPE", "pod", "one of node, cluster"),
        ("KUBEBILL_SHARED_SPREAD", "evenly", "one of none, weighted, even"),
        ("KUBEBILL_SHARED_NAMESPACES", "kube-system,,monitoring", "a comma list of namespaces"),
        ("KUBEBILL_SHARED_NAMESPACES", "Kube_System", "a comma list of namespaces"),
        ("KUBEBILL_SHARED_LABELS", "team", "key=value label selectors"),
        ("KUBEBILL_SHARED_LABELS", "team=a b", "key=value label selectors"),
        ("KUBEBILL_NAMESPACE_TAGS", 'team,"x"', "a comma list of tag keys"),
        ("KUBEBILL_CLUSTER_TAGS", "a,,b", "a comma list of tag keys"),
    ],
)
def test_a_malformed_policy_setting_names_the_variable(name: str, value: str, expected: str) -> None:
    env = {name: value} | ({"KUBEBILL_SHARED_SPREAD": "even"} if name.startswith("KUBEBILL_SHARED_") else {})
    if name == "KUBEBILL_SHARED_SPREAD":
        env = {name: value}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert str(info.value).startswith(f"{name}={value!r}: expected") and expected in str(info.value)


def test_shared_namespaces_without_a_spread_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"KUBEBILL_SHARED_NAMESPACES.*KUBEBILL_SHARED_SPREAD=weighted or even"):
        Settings.from_env({"KUBEBILL_SHARED_NAMESPACES": "kube-system"})


def test_the_cli_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBEBILL_IDLE_SHARE", "sometimes")
    assert main(["merge", "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KUBEBILL_IDLE_SHARE='sometimes': expected one of none, weighted, even" in err
