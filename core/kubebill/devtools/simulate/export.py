"""What every per-cloud bill writer does: turn the model into lines, and lines into the cloud's files."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from pathlib import Path

from kubebill.devtools.simulate.allocation import ClusterDay
from kubebill.devtools.simulate.lines import DayTotals, Lines
from kubebill.devtools.simulate.model import Cluster, Scenario
from kubebill.devtools.simulate.native import Written


class Export(ABC):
    provider: str

    def __init__(self, root: Path, scenario: Scenario, clusters: list[Cluster]) -> None:
        self.root = root
        self.scenario = scenario
        self.clusters = clusters

    @abstractmethod
    def cluster_lines(self, cd: ClusterDay) -> list[Lines]:
        """The bill lines one cluster causes on one day."""

    @abstractmethod
    def account_lines(self, day: date, day_index: int, totals: DayTotals) -> list[Lines]:
        """The day's lines outside every cluster (and the month's, on its first simulated day)."""

    @abstractmethod
    def write(self, day: date, blocks: list[Lines]) -> None:
        """Append lines to the native files (streamed: nothing is kept for later)."""

    @abstractmethod
    def close(self) -> list[Written]:
        """Finish the files and write the manifests; what was written."""
