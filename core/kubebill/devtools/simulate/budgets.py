"""The simulated budgets, so the over-budget alert and the "vs budget" panel see real data.

- Namespace labels (OpenCost merges a namespace's labels into its pods' and writes `kubebill.io/monthly-budget`
  as `kubebill_io_monthly_budget`): `payments` 5 USD a month, which its PostgreSQL StatefulSet runs far above
  (it goes over), `checkout` 400 USD.
- `config/budgets.yaml` in the store: `search` and every namespace whose pods carry `team=analytics`,
  300 USD each (a simulated namespace costs a few USD a day: not over).

Every simulated bill is in USD, so every budget is too.
"""

from __future__ import annotations

from pathlib import Path

from kubebill import budgets
from kubebill.devtools.simulate.native import Written

OVER = "payments"  # the namespace that goes over its budget
LABEL = "kubebill_io_monthly_budget"  # budgets.LABEL as OpenCost writes label keys
LABELLED = {OVER: "5", "checkout": "400"}
FILE = """# monthly budgets of the simulated namespaces (kubebill simulate)
budgets:
  - namespace: search
    amount: 300
    currency: USD
  - label: team=analytics
    amount: 300
    currency: USD
"""


def labels(namespace: str) -> dict[str, str]:
    """The budget label the namespace passes to its pods, if it has one."""
    return {LABEL: LABELLED[namespace]} if namespace in LABELLED else {}


def write_budgets(out: Path) -> list[Written]:
    path = out / budgets.FILE_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FILE, encoding="utf-8")
    return [Written(budgets.FILE_KEY, len(budgets.parse(FILE)))]
