"""`kubebill handle KEY`: the routing every blob-created function does, from the command line."""

from __future__ import annotations

import json

import pytest

from kubebill.cli import main
from kubebill.store import LocalStore


def test_handle_routes_a_key_and_prints_the_outcome(
    local_store: LocalStore, aks_day: str, capsys: pytest.CaptureFixture[str]
):
    assert main(["handle", aks_day, "--store", local_store.url]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert (outcome["decision"], outcome["days"]) == ("merged", ["2025-06-17"])
    assert main(["handle", "results/csv/year=2025/month=06/result.csv", "--store", local_store.url]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "ignored"
