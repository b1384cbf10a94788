"""The ledger record: one `Entry` per input object, held by a `Ledger` (no IO here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from kubebill.schema import COST_COLUMNS

STATES = ("accepted", "waiting", "superseded", "duplicate", "overlapping", "rejected", "ignored")
KINDS = ("billing", "allocation")

# day (ISO) -> currency -> cost column -> Σ of the object's lines starting on that day
Totals = dict[str, dict[str, dict[str, float]]]


@dataclass(frozen=True)
class Entry:
    """One object and its one state.

    `reason` says why in words; `other` names what the state refers to: the manifest a file waits for, the run
    that supersedes it, the object it duplicates, the export counted instead of it. Accepted entries carry the
    unit (`run`) they are read in, the days their lines start on, their rows, the rows left out by rule
    (`excluded`), and `totals`.
    """

    key: str
    etag: str
    kind: str
    state: str
    reason: str = ""
    other: str | None = None
    run: str | None = None
    days: tuple[str, ...] = ()
    rows: int = 0
    excluded: Mapping[str, int] = field(default_factory=dict)
    totals: Totals = field(default_factory=dict)
    parts: tuple[str, ...] = ()  # a manifest's data files when its run was accepted
    sha256: str | None = None
    # rejected after it counted: the etag it counted with (its `days` kept with it), until it counts again
    counted: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"{self.key}: unknown ledger state {self.state!r}; expected one of {', '.join(STATES)}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: unknown input kind {self.kind!r}; expected one of {', '.join(KINDS)}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "etag": self.etag, "kind": self.kind, "state": self.state}
        for name in ("reason", "other", "run", "sha256", "counted"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.state == "accepted":
            out.update(days=list(self.days), rows=self.rows, excluded=dict(self.excluded), totals=self.totals)
        elif self.counted and self.days:
            out["days"] = list(self.days)
        if self.parts:
            out["parts"] = list(self.parts)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Entry:
        return cls(
            key=str(doc["key"]),
            etag=str(doc.get("etag", "")),
            kind=str(doc["kind"]),
            state=str(doc["state"]),
            reason=str(doc.get("reason", "")),
            other=doc.get("other"),
            run=doc.get("run"),
            days=tuple(doc.get("days", ())),
            rows=int(doc.get("rows", 0)),
            excluded={str(k): int(v) for k, v in dict(doc.get("excluded", {})).items()},
            totals={
                str(d): {str(c): {str(n): float(v) for n, v in cols.items()} for c, cols in cur.items()}
                for d, cur in dict(doc.get("totals", {})).items()
            },
            parts=tuple(doc.get("parts", ())),
            sha256=doc.get("sha256"),
            counted=doc.get("counted"),
        )


@dataclass
class Ledger:
    """Every input object's entry, by key: putting an entry replaces the key's previous state."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def put(self, entry: Entry) -> None:
        self.entries[entry.key] = entry

    def carry_counted(self, previous: Ledger) -> None:
        """A rejected object that counted in `previous` keeps what it counted with (its etag and days) until it
        counts again: later merges still know the days it covered (to empty those a restatement leaves), and a rule
        comparing with it (a file written again under its accepted manifest) still holds it out."""
        for key, entry in self.entries.items():
            before = previous.entries.get(key)
            if entry.state != "rejected" or entry.counted or before is None:
                continue
            etag = before.etag if before.state == "accepted" else before.counted
            if etag:
                self.entries[key] = replace(entry, counted=etag, days=before.days)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def counts(self) -> dict[str, int]:
        """Objects per state, every state present (0 when none)."""
        counts = dict.fromkeys(STATES, 0)
        for entry in self.entries.values():
            counts[entry.state] += 1
        return counts

    def by_state(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {state: [] for state in STATES}
        for key in sorted(self.entries):
            out[self.entries[key].state].append(self.entries[key])
        return out

    def in_state(self, *states: str) -> list[str]:
        return sorted(k for k, e in self.entries.items() if e.state in states)

    def day_totals(self, day: date, keys: Iterable[str]) -> dict[str, dict[str, float]]:
        """Σ per currency and cost column of the accepted objects among `keys` for `day` (what a result must hold)."""
        out: dict[str, dict[str, float]] = {}
        for key in sorted(set(keys)):
            entry = self.entries.get(key)
            if entry is None or entry.state != "accepted":
                continue
            for currency, columns in entry.totals.get(day.isoformat(), {}).items():
                into = out.setdefault(currency, dict.fromkeys(COST_COLUMNS, 0.0))
                for name, value in columns.items():
                    into[name] = into.get(name, 0.0) + value
        return out

    def hashes(self) -> dict[tuple[str, str], str]:
        """Content hashes already taken, by (key, etag): an unchanged object is not read again to hash it."""
        return {(e.key, e.etag): e.sha256 for e in self.entries.values() if e.sha256}

    def runs(self) -> dict[str, Entry]:
        """Manifests whose run was accepted, with their data files: what counts if the manifest turns unreadable."""
        return {k: e for k, e in self.entries.items() if e.parts}

    def to_json(self) -> dict[str, Any]:
        entries = [self.entries[k].to_json() for k in sorted(self.entries)]
        return {"version": 1, "counts": self.counts(), "entries": entries}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Ledger:
        return cls({e.key: e for e in (Entry.from_json(item) for item in doc.get("entries", []))})
