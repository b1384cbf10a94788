"""A scan's outcome and what the merge read, as ledger entries: every listed object gets exactly one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubebill.billing.runs import Scan, Unit
from kubebill.ledger.record import Entry, Ledger, Totals


@dataclass
class UnitRead:
    """What reading one billing unit gave: an error, or its rows, totals and excluded rows per object key."""

    error: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Totals] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    # (BillingAccountId, SubAccountId, ISO day) -> its lines ("" for an absent id)
    charges: dict[tuple[str, str, str], int] = field(default_factory=dict)
    hashes: list[Any] = field(default_factory=list)  # its lines' hashes, when asked for (billing.overlap.repeating)


@dataclass(frozen=True)
class AllocationCheck:
    etag: str
    error: str | None = None


def build(
    scan: Scan,
    reads: Mapping[Unit, UnitRead],
    allocations: Mapping[str, AllocationCheck],
    overlapping: Mapping[str, str] | None = None,
) -> Ledger:
    """The ledger of a scan: each billing object's state from the scan and its read, each allocation export's from
    its check; `overlapping` maps a good allocation export to the export of the same cluster and day that counts
    instead."""
    ledger = Ledger()
    hashes = {key: sha for (key, etag), sha in scan.hashes.items() if scan.etags.get(key) == etag}

    def put(key: str, state: str, reason: str = "", **fields: object) -> None:
        ledger.put(
            Entry(key, scan.etags.get(key, ""), "billing", state, reason, sha256=hashes.get(key), **fields)  # type: ignore[arg-type]
        )

    for unit in scan.units:
        run = scan.runs.get(unit.keys[0], unit.manifest or unit.parts[0].key)
        read = reads.get(unit, UnitRead(error="not read by this merge"))
        data = [p.key for p in unit.parts if p.role != "manifest"]
        manifests = [k for k in unit.keys if k not in data]
        if read.error is not None:
            for key in unit.keys:
                put(key, "rejected", read.error if key in data else f"its run's data is rejected: {read.error}")
            continue
        days: set[str] = set()
        for number, key in enumerate(data):
            totals = read.totals.get(key, {})
            days.update(totals)
            put(
                key,
                "accepted",
                f"{unit.format} {unit.export}" + (f" {unit.period}" if unit.period else ""),
                run=run,
                days=tuple(sorted(totals)),
                rows=read.rows.get(key, 0),
                totals=totals,
                excluded=dict(read.excluded) if number == 0 else {},
            )
        for key in manifests:
            put(key, "accepted", f"manifest of {unit.export}", run=run, days=tuple(sorted(days)), parts=tuple(data))
    for key, manifest in scan.companions.items():
        put(key, "accepted", f"another copy of the run's manifest {manifest}", run=scan.runs.get(manifest))
    for skipped in [*scan.rejected, *scan.skipped]:
        put(skipped.key, skipped.state, skipped.reason, other=skipped.other, run=skipped.run, parts=skipped.parts)
    for key in scan.etags:
        if key not in ledger.entries:  # a rule that forgot an object would hide money: name it instead
            put(key, "rejected", "no billing rule claimed this object (a kubebill bug: please report it)")
    others = overlapping or {}
    for key, check in allocations.items():
        if check.error is not None:
            ledger.put(Entry(key, check.etag, "allocation", "rejected", check.error))
        elif key in others:
            reason = f"another export of the same cluster and day counts: {others[key]}"
            ledger.put(Entry(key, check.etag, "allocation", "overlapping", reason, other=others[key]))
        else:
            ledger.put(Entry(key, check.etag, "allocation", "accepted", "allocation export"))
    return ledger
