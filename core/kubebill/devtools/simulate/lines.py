"""Bill lines as the model generates them, before any cloud's format: blocks of rows of one kind.

A `Lines` block is vectorized: row i bills resource ``resources[r[i]]`` over ``[start_us[i], end_us[i])`` with
the four FOCUS cost columns. `target` says where the ground truth sends its cost (see the package docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from kubebill.devtools.simulate.allocation import HOURS, US_PER_HOUR, ClusterDay

TARGETS = ("node", "pv", "lb", "lbs", "shared", "external")


@dataclass
class Resource:
    id: str
    name: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ref: int = -1  # node / volume / service index in its cluster
    attrs: dict[str, str] = field(default_factory=dict)  # provider-native extras (sku, meter, usage type…)


@dataclass
class Lines:
    kind: str
    target: str
    resources: list[Resource]
    r: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    quantity: np.ndarray
    billed: np.ndarray
    effective: np.ndarray
    list_: np.ndarray
    contracted: np.ndarray
    cluster: ClusterDay | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.target in TARGETS, self.target

    def __len__(self) -> int:
        return len(self.r)

    def costs(self) -> np.ndarray:
        """(4, rows): Billed, Effective, List, Contracted."""
        return np.vstack([self.billed, self.effective, self.list_, self.contracted])


def lines_of(
    kind: str,
    target: str,
    resources: list[Resource],
    day_start_us: int,
    *,
    span: int,
    billed: np.ndarray,
    effective: np.ndarray,
    list_: np.ndarray | None = None,
    contracted: np.ndarray | None = None,
    quantity: np.ndarray | None = None,
    cluster: ClusterDay | None = None,
) -> Lines:
    """Rows of `span` hours each from `day_start_us`: 24 per resource when span is 1, else one per resource.

    The amounts are per resource (arrays of len(resources)), the same in every row of that resource;
    list and contracted default to billed, quantity to the hours a row spans.
    """
    n = len(resources)
    per = HOURS if span == 1 else 1
    r = np.repeat(np.arange(n), per)
    start = day_start_us + np.tile(np.arange(per), n).astype(np.int64) * US_PER_HOUR
    lst = billed if list_ is None else list_
    con = lst if contracted is None else contracted
    qty = np.full(n, float(span)) if quantity is None else quantity
    return Lines(
        kind,
        target,
        resources,
        r,
        start,
        start + span * US_PER_HOUR,
        qty[r],
        billed[r],
        effective[r],
        lst[r],
        con[r],
        cluster,
    )


hourly = partial(lines_of, span=1)
daily = partial(lines_of, span=HOURS)


@dataclass
class DayTotals:
    """What account-level lines need from a day's cluster lines, without keeping the lines in memory."""

    day_start_us: int
    billed: float = 0.0
    effective_by_hour: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> (24,)

    def add(self, blocks: list[Lines]) -> None:
        for block in blocks:
            self.billed += float(block.billed.sum())
            hours = np.clip((block.start_us - self.day_start_us) // US_PER_HOUR, 0, HOURS - 1)
            acc = self.effective_by_hour.setdefault(block.kind, np.zeros(HOURS))
            np.add.at(acc, hours, block.effective)
