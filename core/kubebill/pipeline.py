"""The only module that composes IO and transforms: export, merge, handle_object_created, catch_up.

Each function takes an open Store and the Settings, does one whole job, and returns a small summary
that callers (CLI, cloud function handlers) log. Sections are owned by different parts of the product;
keep each function's body in its own section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from kubebill.errors import InputError
from kubebill.settings import Settings
from kubebill.store.base import Store

# ---------------------------------------------------------------------------------------------
# export (cluster side -> allocations/...)
# ---------------------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    cluster: str
    source: str
    days: list[date] = field(default_factory=list)
    rows: int = 0
    keys: list[str] = field(default_factory=list)


def export(
    store: Store,
    settings: Settings,
    *,
    days: Sequence[date],
    source: str | None = None,
    url: str | None = None,
    cluster: str | None = None,
) -> ExportSummary:
    """Pull each UTC day from the cluster API and write allocations/cluster=…/…/<source>.parquet."""
    raise InputError("export: not built yet")


# ---------------------------------------------------------------------------------------------
# merge (allocations + billing -> results/...)
# ---------------------------------------------------------------------------------------------


@dataclass
class MergeSummary:
    days: list[date] = field(default_factory=list)
    merged: list[date] = field(default_factory=list)
    unchanged: list[date] = field(default_factory=list)
    rows: int = 0
    bad_inputs: list[str] = field(default_factory=list)


def merge(store: Store, settings: Settings, *, days: Sequence[date] | None = None) -> MergeSummary:
    """Reconcile the given UTC days (default: the days whose inputs changed since the last merge)."""
    raise InputError("merge: not built yet")


# ---------------------------------------------------------------------------------------------
# events and timers (what the cloud functions call)
# ---------------------------------------------------------------------------------------------


@dataclass
class HandleOutcome:
    key: str
    decision: str  # merged | unchanged | waiting-for-manifest | ignored | poison
    days: list[date] = field(default_factory=list)
    rows: int = 0
    reason: str = ""


def handle_object_created(store: Store, settings: Settings, key: str) -> HandleOutcome:
    """Route one created key (DESIGN 5): allocations -> its day; billing -> the days it covers; else ignore."""
    raise InputError("handle: not built yet")


def catch_up(store: Store, settings: Settings, *, today: date | None = None) -> MergeSummary:
    """The timer's re-merge of the last KUBEBILL_RESTATE_DAYS days (and the previous month early in a month)."""
    raise InputError("catch-up: not built yet")
