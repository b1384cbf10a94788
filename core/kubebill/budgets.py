"""Monthly budgets per namespace: from a namespace's label or from `config/budgets.yaml` in the store.

**Label**: `kubebill.io/monthly-budget=<amount>` (and optionally `kubebill.io/monthly-budget-currency=<ISO 4217>`,
else the bill's currency) on the namespace. Namespace labels reach kubebill in the allocation export's `labels`
(OpenCost and Kubecost merge the namespace's labels into each pod's, the pod's winning, and write label keys
with non-alphanumerics as `_`, so `kubebill_io_monthly_budget` is read too); a pod label works the same way.

**File** (`config/budgets.yaml`, a strict subset of YAML read without PyYAML, which the functions do not ship):

    budgets:
      - namespace: checkout      # or  label: team=payments  (every namespace whose pods carry it)
        amount: 500              # per calendar month
        currency: USD            # must be the bill's: kubebill never converts
        cluster: prod-eks        # optional: only in this cluster

The file wins over labels; within the file a namespace entry wins over a label entry, then the first line
wins. Sentinel namespaces (`__idle__`, …) have no budget. Errors name the file and line (or the label).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from kubebill.errors import InputError
from kubebill.model import SENTINELS

if TYPE_CHECKING:  # duckdb and the stores only where budgets are resolved or read
    from duckdb import DuckDBPyConnection

    from kubebill.store.base import Store

FILE_KEY = "config/budgets.yaml"
LABEL = "kubebill.io/monthly-budget"
CURRENCY_LABEL = "kubebill.io/monthly-budget-currency"
BUDGETS = pa.schema(
    [
        pa.field("cluster", pa.string(), nullable=False),
        pa.field("namespace", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("monthly_budget_cost", pa.float64(), nullable=False),
        pa.field("origin", pa.string(), nullable=False),  # "config/budgets.yaml line 3" or "label …"
    ]
)

_KEYS = ("namespace", "label", "amount", "currency", "cluster")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- +)?(?P<key>[a-z]+): *(?P<value>.*?)$")
_SELECTOR = re.compile(r"^(?P<key>[A-Za-z0-9][A-Za-z0-9._/-]*)=(?P<value>[A-Za-z0-9._-]*)$")
_SENTINEL_SQL = ", ".join(f"'{name}'" for name in sorted(SENTINELS))


class BudgetError(InputError):
    """A budgets file or label kubebill cannot use, or a budget in another currency than the bill."""


@dataclass(frozen=True)
class Budget:
    """One budget entry: a namespace, or the namespaces whose pods carry `label` (key, value)."""

    amount: float
    currency: str
    origin: str
    namespace: str | None = None
    label: tuple[str, str] | None = None
    cluster: str | None = None


def _scalar(raw: str) -> str:
    text = raw.split(" #", 1)[0].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _amount(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise BudgetError(f"{where}: expected a number ≥ 0, found {text!r}")
    return value


def _budget(fields: dict[str, tuple[str, int]], where: str) -> Budget:
    line = min(n for _, n in fields.values())
    origin = f"{where} line {line}"
    if ("namespace" in fields) == ("label" in fields):
        raise BudgetError(f"{origin}: expected exactly one of 'namespace:' or 'label:' in a budget entry")
    for key in ("amount", "currency"):
        if key not in fields:
            raise BudgetError(f"{origin}: the budget entry has no '{key}:'")
    amount_text, amount_line = fields["amount"]
    amount = _amount(amount_text, f"{where} line {amount_line}: amount")
    currency, currency_line = fields["currency"]
    if not _CURRENCY.match(currency):
        raise BudgetError(f"{where} line {currency_line}: currency: expected an ISO 4217 code, found {currency!r}")
    label = None
    if "label" in fields:
        selector, selector_line = fields["label"]
        match = _SELECTOR.match(selector)
        if not match:
            raise BudgetError(f"{where} line {selector_line}: label: expected key=value, found {selector!r}")
        label = (match["key"], match["value"])
    namespace = fields["namespace"][0] if "namespace" in fields else None
    if namespace is not None and (not namespace or namespace in SENTINELS):
        raise BudgetError(f"{origin}: namespace: expected a namespace name, found {namespace!r}")
    cluster = fields["cluster"][0] if "cluster" in fields else None
    return Budget(amount, currency, origin, namespace=namespace, label=label, cluster=cluster)


def parse(text: str, *, where: str = FILE_KEY) -> list[Budget]:
    """The entries of a budgets file; BudgetError naming `where` and the line of the first problem."""
    entries: list[dict[str, tuple[str, int]]] = []
    seen_root = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\t" in raw:
            raise BudgetError(f"{where} line {number}: expected spaces for indentation, found a tab")
        match = _LINE.match(raw.rstrip())
        if not seen_root:
            if raw.rstrip() not in ("budgets:", "budgets: []"):
                raise BudgetError(f"{where} line {number}: expected 'budgets:' first, found {raw.strip()!r}")
            seen_root = True
            continue
        if not match or (not match["indent"] and not match["dash"]):
            raise BudgetError(f"{where} line {number}: expected '- key: value' or 'key: value', found {raw.strip()!r}")
        key, value = match["key"], _scalar(match["value"])
        if key not in _KEYS:
            raise BudgetError(f"{where} line {number}: unknown key {key!r}: expected one of {', '.join(_KEYS)}")
        if not value:
            raise BudgetError(f"{where} line {number}: {key}: expected a value, found nothing")
        if match["dash"]:
            entries.append({})
        elif not entries:
            raise BudgetError(f"{where} line {number}: expected a new entry ('- {key}: …'), found {raw.strip()!r}")
        if key in entries[-1]:
            raise BudgetError(f"{where} line {number}: {key!r} is given twice in one budget entry")
        entries[-1][key] = (value, number)
    if not seen_root:
        raise BudgetError(f"{where}: expected 'budgets:' and a list of entries, found an empty file")
    return [_budget(fields, where) for fields in entries]


def read(store: Store) -> list[Budget]:
    """The store's budgets file (none: no entries); BudgetError when it is not UTF-8 or does not parse."""
    try:
        data = store.read_bytes(FILE_KEY)
    except FileNotFoundError:
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BudgetError(f"{store.url} {FILE_KEY}: expected UTF-8 text, found byte {exc.start}") from None
    return parse(text, where=FILE_KEY)


def _label_sql(key: str) -> str:
    """The value of label `key` on a row, as written or as OpenCost sanitises it (`.`, `/`, `-` → `_`)."""
    paths = dict.fromkeys((key, re.sub(r"[^A-Za-z0-9_]", "_", key)))
    values = ", ".join(
        f"""json_extract_string(x_K8sLabels, '$."{path.replace(chr(39), "").replace(chr(34), "")}"')"""
        for path in paths
    )
    return f"CASE WHEN json_valid(x_K8sLabels) THEN coalesce({values}) END"


def resolve(
    con: DuckDBPyConnection, relation: str, entries: list[Budget], *, problems: list[str] | None = None
) -> pa.Table:
    """The budget of each (cluster, namespace) of RESULT rows in `relation`, as BUDGETS rows.

    A budget in another currency than the namespace's bill, or a label that is no amount, raises BudgetError;
    with `problems` given, it is skipped and its message appended there instead (one bad budget never hides
    the others')."""
    scope = f"x_K8sCluster IS NOT NULL AND x_K8sNamespace IS NOT NULL AND x_K8sNamespace NOT IN ({_SENTINEL_SQL})"
    rows = con.execute(
        f"""SELECT x_K8sCluster, x_K8sNamespace, string_agg(DISTINCT coalesce(BillingCurrency, ''), ',' ORDER BY 1),
                   max({_label_sql(LABEL)}), max({_label_sql(CURRENCY_LABEL)})
            FROM {relation} WHERE {scope} GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    selected: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for key, value in {b.label for b in entries if b.label}:
        for cluster, namespace in con.execute(
            f"SELECT DISTINCT x_K8sCluster, x_K8sNamespace FROM {relation} WHERE {scope} AND {_label_sql(key)} = ?",
            [value],
        ).fetchall():
            selected.setdefault((cluster, namespace), set()).add((key, value))
    ordered = [b for b in entries if b.namespace] + [b for b in entries if b.label]
    out: list[tuple[str, str, str, float, str]] = []
    for cluster, namespace, currencies, label_amount, label_currency in rows:
        bills = currencies.split(",")
        budget = next(
            (
                b
                for b in ordered
                if b.cluster in (None, cluster)
                and (b.namespace == namespace or (b.label in selected.get((cluster, namespace), set())))
            ),
            None,
        )
        try:
            if budget is None and label_amount is not None:
                budget = _from_label(cluster, namespace, label_amount, label_currency, bills)
            if budget is None:
                continue
            if budget.currency not in bills:
                raise BudgetError(
                    f"{budget.origin}: the budget of namespace {namespace} in {cluster} is in {budget.currency}, its "
                    f"bill in {', '.join(bills)}; kubebill never converts currencies: give the budget in the bill's"
                )
        except BudgetError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        out.append((cluster, namespace, budget.currency, budget.amount, budget.origin))
    return pa.Table.from_pylist([dict(zip(BUDGETS.names, row, strict=True)) for row in out], schema=BUDGETS)


def _from_label(cluster: str, namespace: str, amount: str, currency: str | None, bills: list[str]) -> Budget:
    origin = f"label {LABEL} of namespace {namespace} in {cluster}"
    value = _amount(amount, origin)
    if currency is not None and not _CURRENCY.match(currency):
        raise BudgetError(f"label {CURRENCY_LABEL} of namespace {namespace} in {cluster}: expected an ISO 4217 code, "
                          f"found {currency!r}")  # fmt: skip
    return Budget(value, currency or bills[0], origin, namespace=namespace)
