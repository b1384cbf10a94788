"""Where things live in the store (DESIGN 3.3), and routing a key back to kind / cluster / day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kubebill.settings import Settings


class Kind(StrEnum):
    ALLOCATION = "allocation"
    BILLING = "billing"
    RESULT = "result"
    STATE = "state"
    OTHER = "other"


@dataclass(frozen=True)
class ParsedKey:
    key: str
    kind: Kind
    cluster: str | None = None
    day: date | None = None
    source: str | None = None


_ALLOCATION = re.compile(
    r"^cluster=(?P<cluster>[^/]+)/year=(?P<y>\d{4})/month=(?P<m>\d{2})/day=(?P<d>\d{2})/(?P<source>[^/]+)\.parquet$"
)
_RESULT_DAY = re.compile(r"^parquet/year=(?P<y>\d{4})/month=(?P<m>\d{2})/day=(?P<d>\d{2})/result\.parquet$")


_PARTITION = re.compile(r"/year=(?P<y>\d{4})/month=(?P<m>\d{2})/(?:day=(?P<d>\d{2})/)?[^/]+$")


def partition(key: str) -> tuple[int, int, date | None] | None:
    """(year, month, day or None) of an output key's `year=/month=[/day=]/<file>` partition; None when it has none
    (or names no real day)."""
    match = _PARTITION.search(key)
    if match is None:
        return None
    year, month = int(match["y"]), int(match["m"])
    try:
        return year, month, date(year, month, int(match["d"])) if match["d"] else None
    except ValueError:
        return None


def _partition(day: date) -> str:
    return f"year={day.year:04d}/month={day.month:02d}/day={day.day:02d}"


@dataclass(frozen=True)
class Layout:
    allocations_prefix: str = "allocations"
    billing_prefix: str = "billing"
    results_prefix: str = "results"

    @classmethod
    def from_settings(cls, settings: Settings) -> Layout:
        return cls(settings.allocations_prefix, settings.billing_prefix, settings.results_prefix)

    # --- building keys ---
    def allocation_key(self, cluster: str, day: date, source: str) -> str:
        if not cluster or "/" in cluster or "=" in cluster:
            raise ValueError(f"cluster name {cluster!r} cannot be a partition value")
        return f"{self.allocations_prefix}/cluster={cluster}/{_partition(day)}/{source}.parquet"

    def allocations_root(self) -> str:
        return f"{self.allocations_prefix}/"

    def billing_root(self) -> str:
        return f"{self.billing_prefix}/"

    def result_parquet_key(self, day: date) -> str:
        return f"{self.results_prefix}/parquet/{_partition(day)}/result.parquet"

    def result_csv_key(self, year: int, month: int) -> str:
        return f"{self.results_prefix}/csv/year={year:04d}/month={month:02d}/result.csv"

    def result_day_csv_key(self, day: date) -> str:
        return f"{self.results_prefix}/csv/{_partition(day)}/result.csv"

    def result_csv_month_root(self, year: int, month: int) -> str:
        """The prefix of a month's day CSVs."""
        return f"{self.results_prefix}/csv/year={year:04d}/month={month:02d}/day="

    def compare_key(self, day: date) -> str:
        """The day's cross-check of the allocation export against the cloud's own split (reconcile.compare)."""
        return f"{self.results_prefix}/compare/{_partition(day)}/cloud.parquet"

    def results_parquet_root(self) -> str:
        return f"{self.results_prefix}/parquet/"

    def state_prefix(self) -> str:
        return f"{self.results_prefix}/_state/"

    def state_key(self, name: str) -> str:
        """A bookkeeping object under results/_state/ (e.g. `merge/2025-06-17.json`)."""
        return f"{self.state_prefix()}{name.lstrip('/')}"

    # --- routing keys ---
    def parse(self, key: str) -> ParsedKey:
        """What a created key is. Keys under the results prefix are never inputs."""
        key = key.lstrip("/")
        results = self.results_prefix + "/"
        if key.startswith(results):
            rest = key[len(results) :]
            if rest.startswith("_state/"):
                return ParsedKey(key, Kind.STATE)
            match = _RESULT_DAY.match(rest)
            day = date(int(match["y"]), int(match["m"]), int(match["d"])) if match else None
            return ParsedKey(key, Kind.RESULT, day=day)
        allocations = self.allocations_prefix + "/"
        if key.startswith(allocations):
            match = _ALLOCATION.match(key[len(allocations) :])
            if match is None:
                return ParsedKey(key, Kind.OTHER)
            try:
                day = date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return ParsedKey(key, Kind.OTHER)
            return ParsedKey(key, Kind.ALLOCATION, cluster=match["cluster"], day=day, source=match["source"])
        if key.startswith(self.billing_prefix + "/"):
            return ParsedKey(key, Kind.BILLING)
        return ParsedKey(key, Kind.OTHER)

    def is_input(self, key: str) -> bool:
        return self.parse(key).kind in (Kind.ALLOCATION, Kind.BILLING)
