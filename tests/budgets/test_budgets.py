"""The budgets file and labels: what they say, and clear errors naming the file and line (kubebill.budgets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubebill import budgets
from kubebill.cli import main
from kubebill.reconcile import session
from kubebill.settings import Settings
from kubebill.sinks import metrics
from kubebill.store import LocalStore
from tests.budgets.handmade import CLUSTER, result_table, write_day

GOOD = """# budgets of the shop
budgets:
  - namespace: checkout   # the web shop
    amount: 500
    currency: USD
  - label: team=discovery
    amount: "250.5"
    currency: 'USD'
    cluster: prod-eks
"""


def resolved(entries: list[budgets.Budget], **options: str) -> dict[str, tuple[float, str, str]]:
    con = session.connect(threads=1)
    con.register("r", result_table(**options))
    table = budgets.resolve(con, "r", entries)
    assert table.schema == budgets.BUDGETS
    return {r["namespace"]: (r["monthly_budget_cost"], r["currency"], r["origin"]) for r in table.to_pylist()}


def test_a_good_file_parses_entry_by_entry() -> None:
    entries = budgets.parse(GOOD)
    assert entries == [
        budgets.Budget(500.0, "USD", f"{budgets.FILE_KEY} line 3", namespace="checkout"),
        budgets.Budget(250.5, "USD", f"{budgets.FILE_KEY} line 6", label=("team", "discovery"), cluster="prod-eks"),
    ]
    assert budgets.parse("budgets: []\n") == []


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("", None, "expected 'budgets:'"),
        ("namespaces:\n", 1, "expected 'budgets:' first"),
        ("budgets:\n  - namespace: a\n\tamount: 1\n", 3, "found a tab"),
        ("budgets:\n  - namespace: a\n    amount: ten\n    currency: USD\n", 3, "expected a number ≥ 0, found 'ten'"),
        ("budgets:\n  - namespace: a\n    amount: -5\n    currency: USD\n", 3, "expected a number ≥ 0"),
        ("budgets:\n  - namespace: a\n    amount: 5\n    currency: dollars\n", 4, "expected an ISO 4217 code"),
        ("budgets:\n  - namespace: a\n    amount: 5\n", 2, "has no 'currency:'"),
        ("budgets:\n  - namespace: a\n    label: t=x\n    amount: 5\n    currency: USD\n", 2, "exactly one of"),
        ("budgets:\n  - label: team\n    amount: 5\n    currency: USD\n", 2, "expected key=value"),
        ("budgets:\n  - namespace: a\n    monthly: 5\n", 3, "unknown key 'monthly'"),
        ("budgets:\n  - namespace: a\n    namespace: b\n", 3, "given twice"),
        ("budgets:\n    amount: 5\n", 2, "expected a new entry"),
        ("budgets:\n  - namespace: __idle__\n    amount: 5\n    currency: USD\n", 2, "expected a namespace name"),
        ("budgets:\n- namespace:\n", 2, "expected a value"),
        ("budgets:\nnamespace: a\n", 2, "expected '- key: value'"),
    ],
)
def test_a_bad_file_names_the_file_and_line(text: str, line: int | None, says: str) -> None:
    with pytest.raises(budgets.BudgetError) as caught:
        budgets.parse(text, where="config/budgets.yaml")
    message = str(caught.value)
    assert message.startswith("config/budgets.yaml" + (f" line {line}:" if line else ":")), message
    assert says in message, message


def test_file_beats_label_and_namespace_beats_selector() -> None:
    # no file: checkout's label (as OpenCost writes the key), in the bill's currency; search has none
    assert resolved([]) == {"checkout": (300.0, "USD", f"label {budgets.LABEL} of namespace checkout in {CLUSTER}")}
    entries = budgets.parse(GOOD.replace("team=discovery", "team=shop"))
    # checkout is both named and selected by team=shop: the namespace entry wins over the selector and the label
    assert resolved(entries)["checkout"] == (500.0, "USD", f"{budgets.FILE_KEY} line 3")
    selected = budgets.parse(GOOD)
    assert resolved(selected)["search"] == (250.5, "USD", f"{budgets.FILE_KEY} line 6")
    elsewhere = budgets.parse(GOOD.replace("cluster: prod-eks", "cluster: dev-aks"))
    assert "search" not in resolved(elsewhere)  # the entry is for another cluster only


def test_a_budget_in_another_currency_is_an_error_never_converted() -> None:
    entries = budgets.parse(GOOD)
    with pytest.raises(budgets.BudgetError, match=r"line 3: the budget of namespace checkout in prod-eks is in USD, "
                       r"its bill in EUR; kubebill never converts"):  # fmt: skip
        resolved(entries, currency="EUR")
    con = session.connect(threads=1)
    con.register("r", result_table(currency="EUR"))
    problems: list[str] = []
    assert budgets.resolve(con, "r", entries, problems=problems).num_rows == 0
    assert len(problems) == 2 and all("kubebill never converts" in p for p in problems)


def test_the_report_and_metrics_commands_stop_on_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = LocalStore(tmp_path)
    write_day(store)
    store.write(budgets.FILE_KEY, b"budgets:\n  - namespace: checkout\n    amount: lots\n    currency: USD\n")
    for command in (["report", "--window", "2025-06"], ["metrics"]):
        assert main([*command, "--store", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert re.search(r"config/budgets\.yaml line 3: amount: expected a number ≥ 0, found 'lots'", err), err
        assert "Traceback" not in err
    store.write(budgets.FILE_KEY, b"budgets:\n  - namespace: checkout\n    amount: 5\n    currency: \xff\n")
    assert main(["metrics", "--store", str(tmp_path)]) == 2
    assert "expected UTF-8 text" in capsys.readouterr().err


def test_a_served_exposition_leaves_out_only_the_bad_budget(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    write_day(store, currency="EUR")
    store.write(budgets.FILE_KEY, GOOD.encode())  # USD budgets against a EUR bill
    body, _ = metrics.render(store, Settings(tenant_id="t"))
    text = body.decode()
    assert 'kubebill_budget_problems{tenant_id="t"} 2' in text
    assert "kubebill_namespace_monthly_budget_cost{" not in text
    store.write(budgets.FILE_KEY, GOOD.replace("USD", "EUR").encode())  # a new file is a new version
    text = metrics.render(store, Settings(tenant_id="t"))[0].decode()
    assert 'kubebill_budget_problems{tenant_id="t"} 0' in text
    assert 'namespace="checkout",tenant_id="t"} 500' in text and 'namespace="search",tenant_id="t"} 250.5' in text


def test_a_label_that_is_no_amount_names_the_namespace() -> None:
    table = result_table()
    labels = [None if v is None else v.replace('"300"', '"lots"') for v in table["x_K8sLabels"].to_pylist()]
    con = session.connect(threads=1)
    con.register("r", table.set_column(table.schema.get_field_index("x_K8sLabels"), "x_K8sLabels", [labels]))
    with pytest.raises(budgets.BudgetError, match=r"^label kubebill\.io/monthly-budget of namespace checkout in "
                       r"prod-eks: expected a number ≥ 0, found 'lots'$"):  # fmt: skip
        budgets.resolve(con, "r", [])
