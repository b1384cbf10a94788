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

import hashlib
import json
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

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
    """A file not read, its ledger state (see kubebill.ledger) and what that state refers to."""

    key: str
    reason: str
    state: str = "rejected"
    other: str | None = None
    # a manifest whose previous run keeps counting: that run and its data files, carried in the ledger so the
    # next scans still know them
    run: str | None = None
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Previous:
    """A manifest's last accepted run, as the ledger remembers it (what counts when the manifest turns unreadable)."""

    run: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class History:
    """What earlier scans learnt: content hashes by (key, etag), accepted runs by manifest key."""

    hashes: dict[tuple[str, str], str] = field(default_factory=dict)
    runs: dict[str, Previous] = field(default_factory=dict)
    # key -> the etag each object counted with: accepted in the last ledger, or rejected since (ledger `counted`)
    counted: dict[str, str] = field(default_factory=dict)


@dataclass
class Scan:
    units: list[Unit] = field(default_factory=list)
    rejected: list[Skipped] = field(default_factory=list)  # bad files (state rejected) and non-exports (ignored)
    skipped: list[Skipped] = field(default_factory=list)  # waiting, superseded, duplicate, overlapping
    companions: dict[str, str] = field(default_factory=dict)  # another manifest of a unit's run -> the unit's manifest
    runs: dict[str, str] = field(default_factory=dict)  # every key of a unit -> the unit's run id
    hashes: dict[tuple[str, str], str] = field(default_factory=dict)  # content hashes taken, by (key, etag)
    etags: dict[str, str] = field(default_factory=dict)  # every object listed -> its etag
    modified: dict[str, datetime] = field(default_factory=dict)  # every object listed -> when it was written


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
    account: str | None = None  # the billing account (AWS payer account, Azure billing scope) when the manifest says
    # each ref's size in bytes where the manifest states it (Azure's blobs[].byteCount, uncompressed exports): a
    # file of another size is not the one the run delivered
    sizes: tuple[int | None, ...] = ()

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


def is_manifest_name(key: str) -> bool:
    """A CUR, Data Exports or Azure export manifest by its name: it lists a run's files and holds no bill line."""
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
            account=str(doc["account"]) if doc.get("account") else None,
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
            account=_arn_account(doc.get("exportArn")),
        )
    if "blobs" in doc and ("exportConfig" in doc or "runInfo" in doc):
        config = doc.get("exportConfig") or {}
        run = doc.get("runInfo") or {}
        start, end = _time(run.get("startDate")), _time(run.get("endDate"))
        parts = key.split("/")
        export = str(config.get("exportName") or (parts[-4] if len(parts) >= 4 else key))
        blobs = [b for b in doc.get("blobs", []) if isinstance(b, dict)]
        refs = [str(b.get("blobName") or "") for b in blobs]
        delivery = doc.get("deliveryConfig") or {}
        # a compressed export's byteCount may count the bytes before compression: only plain files are held to it
        plain = str(delivery.get("compressionMode") or "none").lower() == "none"
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
            sizes=tuple(
                _byte_count(b) if plain and not ref.lower().endswith(".gz") else None
                for b, ref in zip(blobs, refs, strict=True)
            ),
        )
    return None


def _byte_count(blob: dict[str, Any]) -> int | None:
    value = blob.get("byteCount")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _arn_account(arn: object) -> str | None:
    parts = str(arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _suffix_index(keys: Iterable[str]) -> dict[str, list[str]]:
    """Every `/`-suffix of every key → the keys ending with it."""
    index: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        parts = key.split("/")
        for i in range(len(parts)):
            index["/".join(parts[i:])].append(key)
    return index


def _resolve(ref: str, index: dict[str, list[str]], manifest: str = "") -> str | None:
    """The store key a manifest's reference names (S3 URI, bucket-relative key, blob name, URL): longest suffix.

    When a folder copied under another prefix makes the suffix match twice, the key whose folder above the
    suffix also holds the manifest is the one named; no such single key: unresolved."""
    text = re.sub(r"^[a-z0-9]+://[^/]+/", "", ref.strip()).lstrip("/")
    parts = text.split("/")
    for i in range(len(parts)):
        suffix = "/".join(parts[i:])
        found = index.get(suffix, [])
        if len(found) == 1:
            return found[0]
        if found:
            near = [key for key in found if manifest.startswith(key[: len(key) - len(suffix)])]
            return near[0] if len(near) == 1 else None
    return None


def _in_runs(key: str) -> bool:
    """A file of an export's runs: which run counts is the run rules' choice, not a content comparison's."""
    return bool(_EXPORT_LAYOUT.search("/" + key) or _AZURE_V1.match(key))


def _copied_folder(key: str, other: str) -> bool:
    """Two paths that differ only above the export's own folders (`billing/aws/cur/X/…` copied to
    `billing/aws-backup/cur/X/…`): the last three path parts agree. A new run's file that happens to hold the
    bytes of an old run's one differs in its run folder, and waits for its manifest instead."""
    return key.split("/")[-3:] == other.split("/")[-3:]


def content_hash(store: Store, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _hash(store: Store, info: ObjectInfo, known: dict[tuple[str, str], str], taken: dict[tuple[str, str], str]) -> str:
    ident = (info.key, info.etag)
    if ident not in known:
        known[ident] = content_hash(store, info.key)
    taken[ident] = known[ident]
    return known[ident]


def _same_content(
    store: Store, infos: list[ObjectInfo], known: dict[tuple[str, str], str], taken: dict[tuple[str, str], str]
) -> dict[str, str]:
    """Byte-identical objects among `infos` (only same-size ones are hashed): copy -> the one counted (the oldest)."""
    by_size: dict[int, list[ObjectInfo]] = defaultdict(list)
    for info in infos:
        if info.size > 0:
            by_size[info.size].append(info)
    copies: dict[str, str] = {}
    for group in by_size.values():
        if len(group) < 2:
            continue
        by_hash: dict[str, list[ObjectInfo]] = defaultdict(list)
        for info in group:
            by_hash[_hash(store, info, known, taken)].append(info)
        for same in by_hash.values():
            first = min(same, key=lambda i: (i.modified, len(i.key), i.key))
            copies.update((i.key, first.key) for i in same if i.key != first.key)
    return copies


def scan(store: Store, layout: Layout, *, history: History | None = None) -> Scan:
    """Every billing export under the billing prefix, grouped into the units to read (see module doc).

    Every object ends in exactly one place: a unit, `rejected` or `skipped` (each with its ledger state), or
    `companions`. Byte-identical self-contained files are read once (the others are duplicates, by SHA-256);
    a folder copied under another prefix is a duplicate of the files its manifest claims; of two exports of the
    same billing account and period only the newest is read (the other is overlapping); an empty or unreadable
    manifest is rejected and the run it last named (`history`) keeps counting while its files are there as
    accepted, and so does that run when the manifest names a newer run not all of whose files are there.
    """
    history = history or History()
    known = dict(history.hashes)
    root = layout.billing_root()
    objects = {info.key: info for info in store.list(root)}
    result = Scan(
        etags={key: info.etag for key, info in objects.items()},
        modified={key: info.modified for key, info in objects.items()},
    )
    copies = _same_content(
        store,
        [i for k, i in objects.items() if not is_manifest_name(k) and not _in_runs(k)],
        known,
        result.hashes,
    )
    for copy, first in copies.items():
        result.skipped.append(Skipped(copy, f"duplicate of {first} (same SHA-256)", "duplicate", first))
    runs: dict[tuple[str, str, str], dict[str, _Run]] = defaultdict(dict)
    manifest_keys: set[str] = set()
    broken: list[str] = []
    for key, info in objects.items():
        if not is_manifest_name(key):
            continue
        run = parse_manifest(info, store.read_bytes(key))
        manifest_keys.add(key)
        if run is None:
            broken.append(key)
            continue
        group = runs[(run.kind, run.export, run.period)]
        if run.run_id in group:
            group[run.run_id].manifests.append(info)
        else:
            group[run.run_id] = run
    index = _suffix_index(k for k in objects if not is_manifest_name(k) and k not in copies)
    claimed: dict[str, str] = {}
    superseded: dict[str, tuple[str, str]] = {}
    azure_units: list[tuple[Unit, _Run | None]] = []
    chosen_runs: list[tuple[_Run, list[str]]] = []
    incomplete: list[tuple[_Run, str, str | None]] = []  # the newest run of an export, not all of its files there
    for (_kind, export, period), group in sorted(runs.items()):
        chosen: _Run | None = None
        for run in sorted(group.values(), key=lambda r: (r.modified, r.run_id), reverse=True):
            newest = max(run.manifests, key=lambda m: (m.modified, m.key)).key
            resolved = [_resolve(ref, index, newest) for ref in run.refs]
            if chosen is None and run.refs and all(resolved):
                chosen = run
                chosen_runs.append((run, [k for k in resolved if k]))
            else:
                for found in resolved:
                    if found:
                        superseded.setdefault(found, (f"superseded by the newer run of {export} {period}", newest))
                if chosen is None:
                    missing = [ref for ref, key in zip(run.refs, resolved, strict=True) if key is None]
                    reason = f"incomplete run: {len(missing)} data file(s) missing"
                    if not run.refs:
                        reason = "manifest lists no data file"
                    incomplete.append((run, reason, missing[0] if missing else None))
                elif chosen is not run:
                    for m in run.manifests:
                        result.skipped.append(
                            Skipped(m.key, f"superseded by run {chosen.run_id}", "superseded", chosen.run_id)
                        )
    kept = _newest_per_account(chosen_runs, result)
    claimed.update((s.key, s.other or "") for s in result.skipped if s.state == "overlapping")
    for run, keys in kept:
        changed = _changed_since_accepted(run, keys, objects, history)
        if changed:
            _hold(run, keys, changed, history, result)
            claimed.update(dict.fromkeys(keys, run.run_id))
            continue
        unit = _run_unit(store, run, [objects[k] for k in keys], result)
        if unit is None:
            for m in run.manifests:
                result.rejected.append(Skipped(m.key, f"{m.key}: the run's data files are rejected"))
            claimed.update(dict.fromkeys(keys, run.run_id))
        else:
            for key in unit.keys:
                claimed[key] = run.run_id
            for m in run.manifests:
                if m.key != unit.manifest:
                    result.companions[m.key] = unit.manifest or ""
                    claimed[m.key] = run.run_id
            if run.kind == "azure":
                azure_units.append((unit, run))
            else:
                result.units.append(unit)
    for run, reason, first_missing in incomplete:
        # a newer run still arriving (or a file of it lost): the run last accepted keeps counting while every file
        # of it is there as it was then (an export overwriting its files in place has no such run left)
        for m in run.manifests:
            previous = _keep_previous(store, m.key, history, objects, claimed, result)
            if previous is not None:
                reason = f"{reason}; its previous run {previous.run} keeps counting"
                result.skipped.append(
                    Skipped(m.key, reason, "waiting", first_missing, previous.run, tuple(previous.parts))
                )
                continue
            result.skipped.append(Skipped(m.key, reason, "waiting", first_missing))
    for key in broken:
        previous = _keep_previous(store, key, history, objects, claimed, result)
        if previous is not None:
            result.rejected.append(
                Skipped(
                    key,
                    f"{key}: empty or unreadable manifest; its previous run {previous.run} keeps counting",
                    run=previous.run,
                    parts=tuple(previous.parts),
                )
            )
            continue
        result.rejected.append(Skipped(key, f"{key}: empty or unreadable manifest (not a manifest kubebill knows)"))
    waiting = [i for k, i in objects.items() if k not in claimed and k not in manifest_keys and k not in copies]
    copied = _same_content(store, waiting + [objects[k] for k in claimed if k in objects], known, result.hashes)
    for key, info in objects.items():
        if key in claimed or key in manifest_keys or key in copies:
            continue
        if key in copied and copied[key] in claimed and _copied_folder(key, copied[key]):
            result.skipped.append(Skipped(key, f"duplicate of {copied[key]} (same SHA-256)", "duplicate", copied[key]))
            continue
        if key in superseded:
            reason, by = superseded[key]
            result.skipped.append(Skipped(key, reason, "superseded", by))
            continue
        if not _DATA_SUFFIX.search(key):
            result.rejected.append(Skipped(key, "not a billing export: unknown file type", "ignored"))
            continue
        if _EXPORT_LAYOUT.search("/" + key):
            result.skipped.append(Skipped(key, "waiting for manifest", "waiting"))
            continue
        try:
            fmt = detect(read_header(store, key), key)
        except BillingFormatError as exc:
            result.rejected.append(Skipped(key, str(exc)))
            continue
        except _UNREADABLE as exc:
            result.rejected.append(Skipped(key, f"{key}: unreadable ({type(exc).__name__}: {exc})"))
            continue
        unit = Unit(fmt, key, None, (Part(key, info.etag, info.size, "data", fmt),))
        if fmt.startswith("azure-") and fmt != "azure-focus":
            azure_units.append((unit, None))
        else:
            result.units.append(unit)
    result.units.extend(pair_azure(_newest_v1_runs(azure_units, objects, result)))
    result.units.sort(key=lambda u: u.keys)
    for unit in result.units:
        ident = unit.manifest or unit.parts[0].key
        result.runs.update(dict.fromkeys(unit.keys, ident))
    return result


# what a header read can raise on bytes no export has, besides BillingFormatError (never a store outage)
_UNREADABLE = (UnicodeError, EOFError, zlib.error, zipfile.BadZipFile, IndexError, KeyError)


def _newest_per_account(chosen: list[tuple[_Run, list[str]]], result: Scan) -> list[tuple[_Run, list[str]]]:
    """Of two exports of the same billing account and period (e.g. a CUR 2.0 and a second CUR 2.0 of the same
    payer), only the newest is read; the other's files are overlapping, naming the export counted instead."""
    groups: dict[tuple[str, str, str], list[tuple[_Run, list[str]]]] = defaultdict(list)
    kept: list[tuple[_Run, list[str]]] = []
    for run, keys in chosen:
        if run.account and run.period:
            groups[(run.account, run.period, run.azure_type or "")].append((run, keys))
        else:
            kept.append((run, keys))
    for (account, period, _type), group in sorted(groups.items()):
        group.sort(key=lambda item: (item[0].modified, item[0].run_id), reverse=True)
        newest = group[0][0]
        counted = max(newest.manifests, key=lambda m: (m.modified, m.key)).key
        kept.append(group[0])
        for run, keys in group[1:]:
            reason = (
                f"overlapping: export {run.export} and export {newest.export} both cover account {account} "
                f"period {period}; the newer, {newest.export} ({counted}), is counted"
            )
            for key in keys + [m.key for m in run.manifests]:
                result.skipped.append(Skipped(key, reason, "overlapping", counted))
    return kept


def _keep_previous(
    store: Store,
    manifest: str,
    history: History,
    objects: Mapping[str, ObjectInfo],
    claimed: dict[str, str],
    result: Scan,
) -> Previous | None:
    """The run `manifest` last counted, counting on while every file of it is there as the ledger accepted it (a
    file overwritten in place belongs to another run): its unit added to `result`, its files claimed. None when
    it cannot count (no such run, a file gone or changed, or claimed by a run that does count)."""
    previous = history.runs.get(manifest)
    if previous is None or not previous.parts:
        return None
    if not all(p in objects and p not in claimed and history.counted.get(p) == objects[p].etag for p in previous.parts):
        return None
    unit = _previous_unit(store, manifest, previous, [objects[p] for p in previous.parts], result)
    if unit is None:
        return None
    result.units.append(unit)
    claimed.update(dict.fromkeys(previous.parts, previous.run))
    return previous


def _changed_since_accepted(run: _Run, keys: list[str], objects: dict[str, ObjectInfo], history: History) -> str | None:
    """Why the run's files are not the ones it delivered: a data file the ledger accepted with this run's manifest,
    that manifest unchanged since (same etag), has been written again. An export overwriting its files in place
    writes its manifest last, so until the new manifest is there the run is a mix of two deliveries, and a file
    rewritten without one is not the export's. None when every file is as accepted, or the run never was."""
    manifest = max(run.manifests, key=lambda m: (m.modified, m.key))
    previous = history.runs.get(manifest.key)
    if previous is None or history.counted.get(manifest.key) != manifest.etag:
        return None  # never accepted, or a new delivery: its manifest was written again
    for key in keys:
        accepted = history.counted.get(key)
        if key in previous.parts and accepted is not None and accepted != objects[key].etag:
            return (
                f"{key}: written again after its run {run.run_id} was accepted, and the run's manifest"
                f" {manifest.key} was not: not the file the run delivered (a new delivery counts once its manifest"
                " is written)"
            )
    return None


def _hold(run: _Run, keys: list[str], reason: str, history: History, result: Scan) -> None:
    """Reject a run whose files changed under its accepted manifest; the manifest carries its run and parts, and the
    ledger what each file counted with (Ledger.carry_counted), so the next scans still hold the run out instead of
    taking the rewritten file for a first delivery."""
    result.rejected.extend(Skipped(key, reason) for key in keys)
    for m in run.manifests:
        previous = history.runs.get(m.key)
        result.rejected.append(
            Skipped(
                m.key,
                f"{m.key}: the run's data files are rejected: {reason}",
                run=previous.run if previous else None,
                parts=previous.parts if previous else (),
            )
        )


def _previous_unit(
    store: Store, manifest: str, previous: Previous, infos: list[ObjectInfo], result: Scan
) -> Unit | None:
    try:
        fmt = detect(read_header(store, infos[0].key), infos[0].key)
    except BillingFormatError as exc:
        result.rejected.extend(Skipped(i.key, str(exc)) for i in infos)
        return None
    export = manifest.rsplit("/", 1)[-1]
    return Unit(fmt, export, None, tuple(Part(i.key, i.etag, i.size, "data", fmt) for i in infos))


def _run_unit(store: Store, run: _Run, infos: list[ObjectInfo], result: Scan) -> Unit | None:
    """The unit of a run's data files (`infos`, in the order of its refs); None, the files rejected, when they are
    not what the manifest describes or not a billing format kubebill reads."""
    manifest = max(run.manifests, key=lambda m: (m.modified, m.key))
    for info, size in zip(infos, run.sizes, strict=False):
        if size is not None and info.size != size:
            reason = (
                f"{info.key}: {info.size} bytes, expected {size} as the run's manifest {manifest.key} says (byteCount):"
                " not the file the run delivered (cut short, rewritten or still uploading)"
            )
            result.rejected.extend(
                Skipped(
                    i.key, reason if i is info else f"{i.key}: a file of its run is not the one delivered: {reason}"
                )
                for i in infos
            )
            return None
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
        result.skipped.append(
            Skipped(
                drop[0].parts[0].key,
                f"superseded by the newer run {keep[0].parts[0].key}",
                "superseded",
                keep[0].parts[0].key,
            )
        )
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
