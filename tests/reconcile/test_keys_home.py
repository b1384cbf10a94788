"""Each cloud's knowledge in one home (kubebill.keys): the billing readers and the stages read it from there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import kubebill
from kubebill import keys
from kubebill.reconcile import stages

PACKAGE = Path(kubebill.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_billing_imports_keys_never_reconcile() -> None:
    """The readers take no rule from reconcile and open no DuckDB session of their own: the Azure Actual/Amortized
    pairing runs on the session its caller hands it (the merge's, kubebill.reconcile.session)."""
    billing = {path.name: _imports(path) for path in (PACKAGE / "billing").glob("*.py")}
    assert not {name for name, found in billing.items() if any(m.startswith("kubebill.reconcile") for m in found)}
    assert not [p.name for p in (PACKAGE / "billing").glob("*.py") if "duckdb.connect" in p.read_text()]
    assert {name for name, found in billing.items() if "kubebill.keys" in found} >= {
        "aws_cur.py", "azure_exports.py", "gcp_export.py", "focus.py",
    }  # fmt: skip
    assert not any(m.startswith("kubebill.reconcile") for m in _imports(PACKAGE / "keys" / "__init__.py"))


def test_stages_name_cloud_rules_only_through_keys() -> None:
    """No stage spells a cloud's resource path itself: those patterns live in keys/aws.py, azure.py, gcp.py."""
    cloud = re.compile(r"microsoft\.|elasticloadbalancing|virtualmachinescalesets|managedclusters|/disks/")
    raw = {s.name: (PACKAGE / "reconcile" / "sql" / stages.file_name(s.name)).read_text() for s in stages.STAGES}
    assert not {name for name, text in raw.items() if cloud.search(text)}
    used = {m for text in raw.values() for m in re.findall(r"\{\{\s*(\w+\.\w+)", text)}
    assert used == {
        "aws.ELB_ARN", "azure.AKS_CLUSTER", "azure.AKS_COMPONENT", "azure.LOAD_BALANCER", "azure.PRIVATE_IP",
        "azure.SERVICE_TAG", "azure.VMSS_PARENT", "gcp.BOOT_DISK", "gcp.GKE_SPLIT_KEY",
    }  # fmt: skip
    assert all(isinstance(getattr(getattr(keys, u.split(".")[0]), u.split(".")[1]), str) for u in used)
