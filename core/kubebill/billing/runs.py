"""Finding the billing exports under the billing prefix: manifests, runs, the newest complete run, pairing.

- AWS legacy CUR: ``<report>-Manifest.json`` with ``assemblyId``, ``reportKeys``, ``billingPeriod``; the period
  manifest and the copy inside the assembly folder are one run.
- AWS Data Exports (CUR 2.0 / FOCUS): ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` listing
  ``dataFiles``.
- Azure exports: ``manifest.json`` in each run folder (``exportConfig``, ``runInfo``, ``blobs``).

Per export and billing period the newest complete run wins (newest manifest object; complete = every data file it
lists is present). Data files of other runs are skipped as superseded; data files in an export layout that no
manifest lists yet are skipped as waiting for their manifest. Any other file is self-contained (a FOCUS or Google
extract, a legacy Azure export, a CUR file dropped by hand) and is read when its header is recognised, else
rejected with the reason.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kubebill.billing.common import container_of, parse_time, read_header
from kubebill.billing.detect import azure_kind, detect
from kubebill.errors import BillingFormatError
from kubebill.layout import Layout
from kubebill.store.base import ObjectInfo, Store

_DATA_SUFFIX = re.compile(r"\.(csv|csv\.gz|gz|zip|parquet|snappy\.parquet|json|jsonl|ndjson|jsonl\.gz|json\.gz)$", re.I)
_EXPORT_LAYOUT = re.compile(
    r"(BILLING_PERIOD=\d{4}-\d{2}|/\d{8}-\d{8}/[0-9a-fA-F-]{20,}/|/part_\d+_\d+\.)", re.IGNORECASE
)


@dataclass(frozen=True)
class Part:
    """One data file of a unit."""

    key: str
    etag: str
    size: int
    role: str  # data | actual | amortized
    format: str


@dataclass(frozen=True)
class Unit:
    """One billing export to read as a whole: a run's data files, a paired Actual+Amortized, or one file."""

    format: str
    export: str
    period: str | None
    parts: tuple[Part, ...]
    manifest: str | None = None
    manifest_etag: str | None = None
    days: tuple[date, ...] | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.parts) + ((self.manifest,) if self.manifest else ())

    @property
    def etags(self) -> tuple[str, ...]:
        return tuple(p.etag for p in self.parts) + ((self.manifest_etag or "",) if self.manifest else ())


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: str


@dataclass
class Scan:
    units: list[Unit] = field(default_factory=list)
    rejected: list[Skipped] = field(default_factory=list)  # bad or unknown files: record them
    skipped: list[Skipped] = field(default_factory=list)  # superseded runs, data waiting for its manifest


@dataclass
class _Run:
    kind: str  # cur | dataexports | azure
    export: str
    period: str
    run_id: str
    manifests: list[ObjectInfo]
    refs: list[str]
    days: tuple[date, ...] | None
    azure_type: str | None = None
    scope: str | None = None

    @property
    def modified(self) -> datetime:
        return max(m.modified for m in self.manifests)


def _days(start: datetime | None, end: datetime | None, *, inclusive: bool) -> tuple[date, ...] | None:
    """The UTC days of a billing period; an exclusive midnight end does not count."""
    if start is None or end is None:
        return None
    first, last = start.date(), end.date()
    if not inclusive and end.time() == datetime.min.time() and last > first:
        last -= timedelta(days=1)
    last = max(last, first)
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def _time(value: object) -> datetime | None:
    try:
        return parse_time(None if value is None else str(value))
    except ValueError:
        return None


def _is_manifest_name(key: str) -> bool:
    name = key.rsplit("/", 1)[-1].lower()
    return name == "manifest.json" or name.endswith("-manifest.json")


def parse_manifest(info: ObjectInfo, body: bytes) -> _Run | None:
    """A run from a manifest object; None when the JSON is not a manifest kubebill knows."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    key = info.key
    if "reportKeys" in doc:
        period = doc.get("billingPeriod") or {}
        start, end = _time(period.get("start")), _time(period.get("end"))
        return _Run(
            "cur",
            str(doc.get("reportName") or key.rsplit("/", 1)[-1].removesuffix("-Manifest.json")),
            start.date().isoformat() if start else "",
            str(doc.get("assemblyId") or key),
            [info],
            [str(k) for k in doc["reportKeys"]],
            _days(start, end, inclusive=False),
        )
    if "dataFiles" in doc or "exportArn" in doc:
        period = doc.get("billingPeriod") or {}
        start, end = _time(period.get("start")), _time(period.get("end"))
        match = re.search(r"BILLING_PERIOD=(\d{4})-(\d{2})", key)
        if start is None and match:
            start = datetime(int(match[1]), int(match[2]), 1).replace(tzinfo=None)
            start = _time(start.isoformat())
            nxt = datetime(int(match[1]) + int(match[2]) // 12, int(match[2]) % 12 + 1, 1)
            end = _time(nxt.isoformat())
        export = str(doc.get("exportName") or key.split("/metadata/")[0].rsplit("/", 1)[-1])
        refs = [str(f if isinstance(f, str) else f.get("key") or f.get("path") or "") for f in doc.get("dataFiles", [])]
        return _Run(
            "dataexports",
            export,
            start.date().isoformat() if start else (match[0] if match else ""),
            str(doc.get("executionId") or key),
            [info],
            refs,
            _days(start, end, inclusive=False),
        )
    if "blobs" in doc and ("exportConfig" in doc or "runInfo" in doc):
        config = doc.get("exportConfig") or {}
        run = doc.get("runInfo") or {}
        start, end = _time(run.get("startDate")), _time(run.get("endDate"))
        parts = key.split("/")
        export = str(config.get("exportName") or (parts[-4] if len(parts) >= 4 else key))
        refs = [str(b.get("blobName") or "") for b in doc.get("blobs", []) if isinstance(b, dict)]
        return _Run(
            "azure",
            export,
            start.date().isoformat() if start else "",
            str(run.get("runId") or key),
            [info],
            refs,
            _days(start, end, inclusive=True),
            azure_type=str(config.get("type") or ""),
            # the export's own id: the billing scope is what precedes /providers/Microsoft.CostManagement/exports/
            scope=re.sub(
                r"/providers/microsoft\.costmanagement/exports/[^/]+$", "", str(config.get("resourceId") or "").lower()
            )
            or None,
        )
    return None


def _suffix_index(keys: Iterable[str]) -> dict[str, str | None]:
    """Every `/`-suffix of every key → that key (None when two keys share the suffix)."""
    index: dict[str, str | None] = {}
    for key in keys:
        parts = key.split("/")
        for i in range(len(parts)):
            suffix = "/".join(parts[i:])
            index[suffix] = key if index.get(suffix, key) == key else None
    return index


def _resolve(ref: str, index: dict[str, str | None]) -> str | None:
    """The store key a manifest's reference names (S3 URI, bucket-relative key, blob name, URL): longest suffix."""
    text = re.sub(r"^[a-z0-9]+://[^/]+/", "", ref.strip()).lstrip("/")
    parts = text.split("/")
    for i in range(len(parts)):
        found = index.get("/".join(parts[i:]))
        if found:
            return found
    return None


def scan(store: Store, layout: Layout) -> Scan:
    """Every billing export under the billing prefix, grouped into the units to read (see module doc)."""
    root = layout.billing_root()
    objects = {info.key: info for info in store.list(root)}
    result = Scan()
    runs: dict[tuple[str, str, str], dict[str, _Run]] = defaultdict(dict)
    manifest_keys: set[str] = set()
    for key, info in objects.items():
        if not _is_manifest_name(key):
            continue
        run = parse_manifest(info, store.read_bytes(key))
        if run is None:
            continue
        manifest_keys.add(key)
        group = runs[(run.kind, run.export, run.period)]
        if run.run_id in group:
            group[run.run_id].manifests.append(info)
        else:
            group[run.run_id] = run
    index = _suffix_index(k for k in objects if not _is_manifest_name(k))
    claimed: dict[str, str] = {}
    superseded: dict[str, str] = {}
    azure_units: list[tuple[Unit, _Run | None]] = []
    for (_kind, export, period), group in sorted(runs.items()):
        chosen: _Run | None = None
        for run in sorted(group.values(), key=lambda r: (r.modified, r.run_id), reverse=True):
            resolved = [_resolve(ref, index) for ref in run.refs]
            if chosen is None and run.refs and all(resolved):
                chosen = run
                unit = _run_unit(store, run, [objects[k] for k in resolved if k], result)
                if unit is not None:
                    for key in unit.keys:
                        claimed[key] = run.run_id
                    if run.kind == "azure":
                        azure_units.append((unit, run))
                    else:
                        result.units.append(unit)
            else:
                for found in resolved:
                    if found:
                        superseded.setdefault(found, f"superseded by the newer run of {export} {period}")
                if chosen is None:
                    missing = [ref for ref, key in zip(run.refs, resolved, strict=True) if key is None]
                    for m in run.manifests:
                        result.skipped.append(Skipped(m.key, f"incomplete run: {len(missing)} data file(s) missing"))
    for key, info in objects.items():
        if key in claimed or key in manifest_keys:
            continue
        if key in superseded:
            result.skipped.append(Skipped(key, superseded[key]))
            continue
        if not _DATA_SUFFIX.search(key):
            if not _is_manifest_name(key):
                result.rejected.append(Skipped(key, "not a billing export: unknown file type"))
            else:
                result.rejected.append(Skipped(key, "not a manifest kubebill knows"))
            continue
        if _EXPORT_LAYOUT.search("/" + key):
            result.skipped.append(Skipped(key, "waiting for manifest"))
            continue
        try:
            fmt = detect(read_header(store, key), key)
        except BillingFormatError as exc:
            result.rejected.append(Skipped(key, str(exc)))
            continue
        unit = Unit(fmt, key, None, (Part(key, info.etag, info.size, "data", fmt),))
        if fmt.startswith("azure-") and fmt != "azure-focus":
            azure_units.append((unit, None))
        else:
            result.units.append(unit)
    result.units.extend(pair_azure(_newest_v1_runs(azure_units, objects, result)))
    result.units.sort(key=lambda u: u.keys)
    return result


def _run_unit(store: Store, run: _Run, infos: list[ObjectInfo], result: Scan) -> Unit | None:
    first = infos[0]
    try:
        fmt = detect(read_header(store, first.key), first.key, azure_type=run.azure_type)
    except BillingFormatError as exc:
        for info in infos:
            result.rejected.append(Skipped(info.key, str(exc)))
        return None
    if run.kind == "cur" and fmt == "aws-cur2":
        fmt = "aws-cur"  # a legacy CUR report delivered as parquet
    if run.kind == "azure" and fmt.startswith("azure-") and fmt != "azure-focus":
        fmt = azure_kind(first.key, run.azure_type or None)
    manifest = max(run.manifests, key=lambda m: (m.modified, m.key))
    return Unit(
        fmt,
        run.export,
        run.period,
        tuple(Part(i.key, i.etag, i.size, "data", fmt) for i in infos),
        manifest.key,
        manifest.etag,
        run.days,
    )


_AZURE_V1 = re.compile(r"^(?P<folder>.*/\d{8}-\d{8})/(?P<export>[^/]+)_[0-9a-fA-F-]{36}\.csv(\.gz)?$")


def _newest_v1_runs(
    units: list[tuple[Unit, _Run | None]], objects: dict[str, ObjectInfo], result: Scan
) -> list[tuple[Unit, _Run | None]]:
    """Azure exports without manifest.json (``<export>/<YYYYMMDD-YYYYMMDD>/<export>_<guid>.csv``, one file per
    run): only the newest run of an export and period is read, the others are skipped as superseded."""
    newest: dict[tuple[str, str], tuple[Unit, _Run | None]] = {}
    out: list[tuple[Unit, _Run | None]] = []
    for unit, run in units:
        match = _AZURE_V1.match(unit.parts[0].key) if run is None else None
        if match is None:
            out.append((unit, run))
            continue
        group = (match["folder"], match["export"])
        other = newest.get(group)
        if other is None:
            newest[group] = (unit, run)
            continue
        mine, theirs = objects[unit.parts[0].key], objects[other[0].parts[0].key]
        keep, drop = (
            ((unit, run), other) if (mine.modified, mine.key) > (theirs.modified, theirs.key) else (other, (unit, run))
        )
        newest[group] = keep
        result.skipped.append(Skipped(drop[0].parts[0].key, f"superseded by the newer run {keep[0].parts[0].key}"))
    return out + list(newest.values())


def pair_azure(units: Iterable[tuple[Unit, _Run | None]]) -> list[Unit]:
    """Actual + amortized units of one period (and scope) become one paired unit.

    Runs with manifests pair by (period, export scope); self-contained files pair when their keys differ only by
    ``actual`` ↔ ``amortized``. Anything without its counterpart stays a lone unit.
    """
    actual: dict[tuple[str, ...], list[Unit]] = defaultdict(list)
    amortized: dict[tuple[str, ...], list[Unit]] = defaultdict(list)
    lone: list[Unit] = []
    for unit, run in units:
        if unit.format not in ("azure-actual", "azure-amortized"):
            lone.append(unit)
            continue
        if run is not None:
            group: tuple[str, ...] = ("run", unit.period or "", run.scope or "")
        else:
            group = ("file", re.sub("amortized|actual", "*", unit.parts[0].key, flags=re.IGNORECASE))
        (actual if unit.format == "azure-actual" else amortized)[group].append(unit)
    out = list(lone)
    for group in sorted(set(actual) | set(amortized)):
        a, m = actual.get(group, []), amortized.get(group, [])
        if len(a) == 1 and len(m) == 1:
            out.append(
                Unit(
                    "azure-actual+amortized",
                    f"{a[0].export} + {m[0].export}",
                    a[0].period,
                    tuple(Part(p.key, p.etag, p.size, "actual", p.format) for p in a[0].parts)
                    + tuple(Part(p.key, p.etag, p.size, "amortized", p.format) for p in m[0].parts),
                    a[0].manifest,
                    a[0].manifest_etag,
                    a[0].days or m[0].days,
                )
            )
            # the amortized run's manifest is an input too
            if m[0].manifest:
                out[-1] = _with_extra_manifest(out[-1], m[0])
        else:
            out.extend(a + m)
    return out


def _with_extra_manifest(unit: Unit, other: Unit) -> Unit:
    extra = Part(other.manifest or "", other.manifest_etag or "", 0, "manifest", "json")
    return Unit(
        unit.format, unit.export, unit.period, (*unit.parts, extra), unit.manifest, unit.manifest_etag, unit.days
    )


def is_data_file(key: str) -> bool:
    return bool(_DATA_SUFFIX.search(key))


def in_export_layout(key: str) -> bool:
    return bool(_EXPORT_LAYOUT.search("/" + key))


def container(key: str) -> str:
    return container_of(key)
