"""Facts about the function code that the Terraform must agree with (entry points, schedules)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kubebill.settings import Settings
from tests.conftest import ROOT

FUNCTIONS = ROOT / "functions"
WRITE_ACTIONS = re.compile(r"^s3:(Put|Delete|Replicate|Restore|Abort)|^s3:\*$|^\*$")


def entry_points(path: Path) -> set[str]:
    """Top-level function names of a function module (handler.py, main.py, function_app.py)."""
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def ncrontab_minute_hour(expression: str) -> tuple[str, str]:
    """(minute, hour) of a 6-field NCRONTAB expression (second minute hour day month weekday)."""
    fields = expression.split()
    assert len(fields) == 6, expression
    return fields[1], fields[2]


def default_schedules() -> dict[str, tuple[str, str]]:
    """kubebill's default times of the daily export and catch-up, as (minute, hour) UTC."""
    settings = Settings()
    return {
        "export": ncrontab_minute_hour(settings.export_schedule),
        "catch_up": ncrontab_minute_hour(settings.catch_up_schedule),
    }
