"""The issue's edge scenarios, each ending in exact money or a named rejection with the other inputs exact.

Every bad-input scenario is marked `bad_input` in its name (see the count in the report of the change)."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
import math
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from kubebill import health, pipeline
from kubebill.errors import InvariantViolation
from kubebill.ledger import STATES, LedgerStore
from kubebill.reconcile import invariants
from kubebill.settings import Settings
from kubebill.store.base import Store
from kubebill.store.local import LocalStore
from tests.emulators import Backend
from tests.ledger.bills import LAYOUT, assert_sums, cur2_parquet, cur2_run, expected, focus_csv, result_sums
from tests.pipeline.merge_inputs import DAY, make_store, parquet_bytes
from tests.reconcile.tables import alloc_row, allocation

SETTINGS = Settings(result_csv="month")  # the month CSV is among the outputs that must not go stale
JUNE = [(date(2025, 6, d), 1.25 * d, "USD") for d in (3, 4, 5)]
EUR = [(date(2025, 6, 4), 7.5, "EUR")]


def _ledger(store: Store) -> dict[str, str]:
    ledger, _ = LedgerStore(store, LAYOUT).load()
    return {k: e.state for k, e in ledger.entries.items()}


def _reason(store: Store, key: str) -> str:
    return LedgerStore(store, LAYOUT).load()[0].entries[key].reason


def _every_object_has_one_state(store: Store) -> None:
    listed = {i.key for i in store.list("billing/")} | {i.key for i in store.list("allocations/")}
    states = _ledger(store)
    assert set(states) == listed
    assert set(states.values()) <= set(STATES)


# --- silent loss ------------------------------------------------------------------------------------------


def test_cur_lines_outside_the_manifest_period_merge_on_their_own_days(external: Path, tmp_path: Path) -> None:
    """The koku CUR's lines start 2018-06-01 while its manifest says August: they are merged on 06-01."""
    store = LocalStore(tmp_path)
    manifest = json.loads((external / "aws/koku_legacy-cur_koku-local-Manifest.json").read_text())
    [ref] = manifest["reportKeys"]
    store.write(f"billing/cur{ref}" if ref.startswith("/") else f"billing/cur/{ref}", gzip.compress(
        (external / "aws/koku_legacy-cur_test_cur.csv").read_bytes()))  # fmt: skip
    store.write("billing/cur/koku-local/20180801-20180901/koku-local-Manifest.json", json.dumps(manifest).encode())
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [date(2018, 6, 1)] and not summary.bad_inputs
    ledger, _ = LedgerStore(store, LAYOUT).load()
    [data] = [e for e in ledger.entries.values() if e.key.endswith(".csv.gz")]
    assert data.state == "accepted" and data.days == ("2018-06-01",) and data.rows == 19
    got = result_sums(store)
    assert got.keys() == {(date(2018, 6, 1), "USD")}
    assert math.isclose(got[(date(2018, 6, 1), "USD")], data.totals["2018-06-01"]["USD"]["BilledCost"], rel_tol=1e-12)


def test_bad_input_empty_cur2_manifest_is_rejected_and_the_previous_run_keeps_counting(any_store: Backend) -> None:
    store = any_store.store
    data, manifest = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    pipeline.merge(store, SETTINGS)
    assert_sums(store, expected(JUNE))
    store.write(manifest, b"")  # a 0-byte manifest replaces it
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == [manifest] and "previous run" in summary.reasons[manifest]
    assert _ledger(store)[data] == "accepted"
    assert_sums(store, expected(JUNE))
    _every_object_has_one_state(store)


def test_a_broken_manifest_keeps_its_previous_run_counting_in_every_later_merge(tmp_path: Path) -> None:
    """The ledger carries the previous run on the rejected manifest: the merge after the next one still knows it
    (it used to forget it there, and the run's data went waiting, its money out of the days)."""
    store = LocalStore(tmp_path)
    data, manifest = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    pipeline.merge(store, SETTINGS)
    store.write(manifest, b"")
    for _ in range(3):
        summary = pipeline.merge(store, SETTINGS, days=sorted({d for d, _, _ in JUNE}))
        assert summary.bad_inputs == [manifest] and "keeps counting" in summary.reasons[manifest]
        assert _ledger(store)[data] == "accepted"
        assert_sums(store, expected(JUNE))


def test_a_newer_run_missing_a_file_leaves_the_previous_run_counting_until_it_is_whole(tmp_path: Path) -> None:
    """Data Exports rewrite the period's manifest in place. A newer run whose manifest names a file not there (not
    arrived yet, lost in a copy between buckets) is no complete run: the last accepted run keeps counting while its
    files are there as they were, over every merge, until the newer run is whole."""
    store = LocalStore(tmp_path)
    data, manifest = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    pipeline.merge(store, SETTINGS)
    doc = json.loads(store.read_bytes(manifest))
    second = data.replace("-00001.", "-00002.")
    doc |= {"executionId": "e2", "dataFiles": [*doc["dataFiles"], f"s3://bucket/{second}"]}
    store.write(manifest, json.dumps(doc).encode())
    for _ in range(3):
        summary = pipeline.merge(store, SETTINGS, days=sorted({d for d, _, _ in JUNE}))
        assert not summary.bad_inputs
        entry = LedgerStore(store, LAYOUT).load()[0].entries[manifest]
        assert entry.state == "waiting" and entry.reason.startswith("incomplete run: 1 data file(s) missing; its")
        assert _ledger(store)[data] == "accepted"
        assert_sums(store, expected(JUNE))
    store.write(second, cur2_parquet(EUR))  # the missing file lands: the newer run counts, whole
    pipeline.merge(store, SETTINGS)
    assert _ledger(store)[second] == _ledger(store)[data] == "accepted"
    assert_sums(store, expected(JUNE, EUR))


def test_bad_input_a_data_file_rewritten_under_its_accepted_manifest_keeps_the_days_until_a_new_run(
    any_store: Backend,
) -> None:
    """An export overwriting its files in place writes its manifest last. A data file written again while the
    run's manifest is the one accepted (a delivery under way, or a file replaced by hand, here cut short) is not
    the run's: merging it would drop the file's money from its days. The days keep their results, the file is
    rejected naming why, until a manifest of the new delivery is written."""
    store = any_store.store
    data, manifest = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    pipeline.merge(store, SETTINGS)
    assert_sums(store, expected(JUNE))
    store.write(data, cur2_parquet(JUNE[:1]))  # the run's one file, cut to its first line
    for _ in range(2):  # held out in every merge, not only the first: the ledger carries what the file counted with
        summary = pipeline.merge(store, SETTINGS)
        assert summary.bad_inputs == [data, manifest]
        assert re.search(
            r": written again after its run e1 was accepted, .* not the file the run delivered", _reason(store, data)
        )
        assert _ledger(store)[data] == "rejected"
        assert_sums(store, expected(JUNE))
    store.write(data, cur2_parquet(EUR))  # the new delivery's data (the 4th only), then its manifest
    doc = json.loads(store.read_bytes(manifest))
    store.write(manifest, json.dumps(doc | {"executionId": "e2"}).encode())
    assert pipeline.merge(store, SETTINGS).merged == [date(2025, 6, d) for d in (3, 4, 5)]
    assert _ledger(store)[data] == "accepted"
    assert_sums(store, expected(EUR))  # the 3rd and 5th, held until now, lose their money
    _every_object_has_one_state(store)


def test_bad_input_empty_manifest_without_history_is_rejected_and_its_data_waits(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    data, manifest = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    store.write(manifest, b"")
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == [manifest]
    assert _ledger(store) == {data: "waiting", manifest: "rejected"}


def test_export_folder_copied_under_a_second_prefix_counts_once(any_store: Backend) -> None:
    store = any_store.store
    data, manifest = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    for key in (data, manifest):
        store.write(key.replace("billing/aws/", "billing/aws-backup/"), store.read_bytes(key))
    pipeline.merge(store, SETTINGS)
    assert_sums(store, expected(JUNE))
    states = _ledger(store)
    assert states[data] == "accepted"
    assert states[data.replace("billing/aws/", "billing/aws-backup/")] == "duplicate"
    _every_object_has_one_state(store)


# --- double counting --------------------------------------------------------------------------------------


def test_the_same_bill_file_under_two_keys_counts_once(any_store: Backend, external: Path) -> None:
    store = any_store.store
    sample = (external / "focus/FOCUS-Sample-Data_FOCUS-1.0_Oracle_only.csv").read_bytes()
    store.write("billing/focus/sample.csv", sample)
    store.write("billing/focus/again/sample-copy.csv", sample)
    pipeline.merge(store, SETTINGS)
    once = result_sums(store)
    states = _ledger(store)
    assert sorted(states.values()) == ["accepted", "duplicate"]
    [copy] = [k for k, s in states.items() if s == "duplicate"]
    [kept] = [k for k, s in states.items() if s == "accepted"]
    assert _reason(store, copy).startswith(f"duplicate of {kept}")
    store.delete(copy)
    pipeline.merge(store, SETTINGS)
    assert result_sums(store) == once


def test_google_export_parquet_under_two_keys_counts_once(external: Path, tmp_path: Path) -> None:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(external / "gcp/koku_gcp_detailed_export_2022-08-01.csv")
    store = LocalStore(tmp_path)
    store.write("billing/gcp/export.parquet", parquet_bytes(table))
    pipeline.merge(store, SETTINGS)
    once = result_sums(store)
    store.write("billing/gcp-copy/export.parquet", parquet_bytes(table))
    pipeline.merge(store, SETTINGS)
    assert result_sums(store) == once and sorted(_ledger(store).values()) == ["accepted", "duplicate"]


def test_two_exports_of_the_same_account_and_period_newest_counts(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    old_data, old_manifest = cur2_run(store, "cur2-a", date(2025, 6, 1), JUNE, execution="e1")
    doubled = [(d, 2 * c, cur) for d, c, cur in JUNE]
    _, new_manifest = cur2_run(store, "cur2-b", date(2025, 6, 1), doubled, execution="e2")
    import os

    os.utime(tmp_path / old_manifest, (1_000, 1_000))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == sorted([old_data, old_manifest])
    assert new_manifest in summary.reasons[old_data] and "cur2-a" in summary.reasons[old_data]
    assert_sums(store, expected(doubled))
    from kubebill.commands.merge import describe

    assert "overlapping" in describe(summary) and old_data in describe(summary)


def _aged(root: Path, *keys: str) -> None:
    import os

    for key in keys:
        os.utime(root / key, (1_000, 1_000))


def _csv_rows(sample: bytes) -> tuple[list[str], list[list[str]]]:
    import csv
    import io

    header, *rows = list(csv.reader(io.StringIO(sample.decode("utf-8-sig"))))
    return header, rows


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode()


def test_two_self_contained_exports_of_one_account_in_two_folders_newest_counts(external: Path, tmp_path: Path) -> None:
    """The FOCUS sample in two folders, one cost changed in the newer: the older folder is overlapping, named in
    the summary, and the result is the newer folder's alone."""
    header, rows = _csv_rows((external / "focus/FOCUS-Sample-Data_FOCUS-1.0_Oracle_only.csv").read_bytes())
    changed = [list(r) for r in rows]
    cost = header.index("BilledCost")
    changed[0][cost] = repr(float(changed[0][cost]) + 12.5)
    alone = LocalStore(tmp_path / "alone")
    alone.write("billing/focus-b/sample.csv", _csv_bytes(header, changed))
    pipeline.merge(alone, SETTINGS)
    store = LocalStore(tmp_path / "both")
    store.write("billing/focus-a/sample.csv", _csv_bytes(header, rows))
    store.write("billing/focus-b/sample.csv", _csv_bytes(header, changed))
    _aged(tmp_path / "both", "billing/focus-a/sample.csv")
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == ["billing/focus-a/sample.csv"]
    reason = summary.reasons["billing/focus-a/sample.csv"]
    assert "billing/focus-a/" in reason and "the newer, billing/focus-b/" in reason
    assert _ledger(store) == {"billing/focus-a/sample.csv": "overlapping", "billing/focus-b/sample.csv": "accepted"}
    assert result_sums(store) == result_sums(alone)
    from kubebill.commands.merge import describe

    assert "overlapping" in describe(summary) and "billing/focus-a/sample.csv" in describe(summary)


@pytest.mark.parametrize("newer", ["actual", "focus"])
def test_azure_focus_and_cost_details_exports_of_one_enrollment_count_once(
    external: Path, tmp_path: Path, newer: str
) -> None:
    """Microsoft's FOCUS export names the billing account by its ARM id (`/providers/Microsoft.Billing/
    billingAccounts/8611537`, the real FOCUS sample), its cost-details export by the bare id (`8611537`, the real EA
    sample): the same enrollment exported both ways counted twice. The EA Actual sample's lines, stated again as
    that FOCUS export states them, are one account's: the older export is overlapping, the money counted once."""
    actual = (external / "azure/finops-toolkit_EA_ActualCost_Small.csv").read_bytes()
    ea_header, ea_rows = _csv_rows(actual)
    at = {name: i for i, name in enumerate(ea_header)}
    lines = []
    for line in ea_rows:
        month, day, year = line[at["Date"]].split("/")
        fields = {
            "BillingAccountId": f"/providers/Microsoft.Billing/billingAccounts/{line[at['BillingAccountId']]}",
            "BilledCost": line[at["Cost"]],
            "EffectiveCost": line[at["Cost"]],
            "BillingCurrency": line[at["BillingCurrency"]],
            "ResourceId": line[at["ResourceId"]],
        }
        lines.append((date(int(year), int(month), int(day)), fields))
    files = {
        "billing/azure-actual/actual.csv": actual,
        "billing/azure-focus/focus.csv": _microsoft_focus(external, lines),
    }
    older = "billing/azure-focus/focus.csv" if newer == "actual" else "billing/azure-actual/actual.csv"
    summary = _counted_once(tmp_path, files, counted="billing/azure-actual/actual.csv", older=older)
    assert summary.overlapping == [older]
    assert "billing account 8611537" in summary.reasons[older]


def _microsoft_focus(external: Path, lines: list[tuple[date, dict[str, str]]]) -> bytes:
    """Lines as Microsoft's FOCUS export states them (the real sample's first line, each line's fields and charge
    day put in)."""
    header, templates = _csv_rows((external / "focus/FOCUS-Sample-Data_FOCUS-1.0_Microsoft_only.csv").read_bytes())
    rows = []
    for start, fields in lines:
        row = dict(zip(header, templates[0], strict=True))
        row |= {"ChargePeriodStart": f"{start}T00:00:00Z", "ChargePeriodEnd": f"{start + timedelta(days=1)}T00:00:00Z"}
        row |= fields
        rows.append([row[name] for name in header])
    return _csv_bytes(header, rows)


def _payg_as_focus(external: Path, subscription: str | None = None) -> bytes:
    """The AKS tool's real pay-as-you-go usage details (no billing account, `SubscriptionGuid`) stated again as
    Microsoft's FOCUS export states lines: a billing account, the subscription as its ARM id."""
    payg_header, payg_rows = _csv_rows((external / "aks/cost-management-export.csv").read_bytes())
    at = {name: i for i, name in enumerate(payg_header)}
    lines = []
    for line in payg_rows:
        fields = {
            "BillingAccountId": "/providers/Microsoft.Billing/billingAccounts/8611537",
            "SubAccountId": f"/subscriptions/{(subscription or line[at['SubscriptionGuid']]).upper()}",
            "BilledCost": line[at["PreTaxCost"]],
            "EffectiveCost": line[at["PreTaxCost"]],
            "BillingCurrency": line[at["Currency"]],
            "ResourceId": line[at["InstanceId"]],
        }
        lines.append((date.fromisoformat(line[at["UsageDateTime"]][:10]), fields))
    return _microsoft_focus(external, lines)


@pytest.mark.parametrize("newer", ["payg", "focus"])
def test_a_payg_export_without_billing_account_and_a_focus_export_of_its_subscription_count_once(
    external: Path, tmp_path: Path, newer: str
) -> None:
    """Legacy pay-as-you-go usage details name no billing account, only the subscription: compared by billing
    account, they never overlapped a FOCUS export of the same subscription and its money counted twice. By
    subscription and day they are one bill: the older is overlapping, the money counted once."""
    payg = (external / "aks/cost-management-export.csv").read_bytes()
    files = {"billing/payg/usage.csv": payg, "billing/focus/focus.csv": _payg_as_focus(external)}
    older = "billing/focus/focus.csv" if newer == "payg" else "billing/payg/usage.csv"
    summary = _counted_once(tmp_path, files, counted="billing/payg/usage.csv", older=older)
    assert summary.overlapping == [older]
    assert "sub-account 82acd5bb-4206-47d4-9c12-a65db028483d" in summary.reasons[older]


def test_a_payg_export_and_a_focus_export_of_another_subscription_both_count(external: Path, tmp_path: Path) -> None:
    """Another subscription's lines on the same days are another bill: both exports count."""
    store = LocalStore(tmp_path / "both")
    store.write("billing/payg/usage.csv", (external / "aks/cost-management-export.csv").read_bytes())
    store.write("billing/focus/focus.csv", _payg_as_focus(external, "00000000-0000-0000-0000-000000000001"))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == []
    alone = LocalStore(tmp_path / "alone")
    alone.write("billing/payg/usage.csv", (external / "aks/cost-management-export.csv").read_bytes())
    pipeline.merge(alone, SETTINGS)
    for (day, currency), total in result_sums(alone).items():
        assert result_sums(store)[(day, currency)] == pytest.approx(2 * total, rel=1e-9)


def _aws_focus(external: Path, first: str = "", last: str = "2024-09-08") -> tuple[list[str], list[list[str]]]:
    """The real FOCUS sample's AWS lines charged from day `first` to day `last` (ISO text, inclusive; a week of
    lines keeps the merges short)."""
    header, rows = _csv_rows((external / "focus/FOCUS-Sample-Data_FOCUS-1.0_AWS_only.csv").read_bytes())
    start = header.index("ChargePeriodStart")
    return header, [r for r in rows if first <= r[start][:10] <= last]


def _counted_once(tmp_path: Path, files: dict[str, bytes], *, counted: str, older: str) -> pipeline.MergeSummary:
    """`files` merged together, `older` the older object, against `counted` merged alone: the same sums per day
    and currency. Returns the merge of them together."""
    alone = LocalStore(tmp_path / "alone")
    alone.write(counted, files[counted])
    pipeline.merge(alone, SETTINGS)
    store = LocalStore(tmp_path / "both")
    for key, body in files.items():
        store.write(key, body)
    _aged(tmp_path / "both", older)
    summary = pipeline.merge(store, SETTINGS)
    assert result_sums(alone)
    for key, total in result_sums(alone).items():
        assert result_sums(store)[key] == pytest.approx(total, rel=1e-9)
    return summary


@pytest.mark.parametrize("ids", [True, False])
def test_a_re_download_of_a_month_into_the_folder_of_the_first_counts_once(
    external: Path, tmp_path: Path, ids: bool
) -> None:
    """The month to date downloaded on the 5th, then again a few days later (one line restated) into the same
    folder, under another name: a folder's files are shards of one export and all counted, so the first days
    counted twice. The older file repeats its lines whole in the newer, which covers its days: overlapping (by
    account-day, or by day when the lines name no account)."""
    header, month = _aws_focus(external)
    cost = header.index("BilledCost")
    month[0][cost] = repr(float(month[0][cost]) + 3.25)
    _, half = _aws_focus(external, last="2024-09-04")
    if not ids:
        for row in month + half:
            row[header.index("BillingAccountId")] = row[header.index("SubAccountId")] = ""
    older, newer = "billing/focus/september-to-date.csv", "billing/focus/september.csv"
    files = {older: _csv_bytes(header, half), newer: _csv_bytes(header, month)}

    summary = _counted_once(tmp_path, files, counted=newer, older=older)

    assert summary.overlapping == [older]
    assert f"repeated whole in {newer}" in summary.reasons[older]


@pytest.mark.parametrize("ids", [True, False])
def test_files_of_a_folder_repeating_some_lines_both_count_with_a_warning(
    external: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, ids: bool
) -> None:
    """A newer file that repeats part of an older one's lines but not its days (1-5 and 3-8, over half of the
    older's lines): neither is a re-download of the other, both count, and the merge says so. Also when the lines
    name no account at all: the days are compared then (no account-day to compare held of any newer file, and
    days 1-2 were dropped)."""
    header, early = _aws_focus(external, last="2024-09-05")
    _, late = _aws_focus(external, first="2024-09-03")
    if not ids:
        for row in early + late:
            row[header.index("BillingAccountId")] = row[header.index("SubAccountId")] = ""
    store = LocalStore(tmp_path / "both")
    store.write("billing/focus/early.csv", _csv_bytes(header, early))
    store.write("billing/focus/late.csv", _csv_bytes(header, late))
    _aged(tmp_path / "both", "billing/focus/early.csv")

    with caplog.at_level("WARNING", logger="kubebill"):
        summary = pipeline.merge(store, SETTINGS)

    assert summary.overlapping == []
    warned = [r for r in caplog.records if "repeat some of the same lines" in r.getMessage()]
    assert warned and warned[0].__dict__["files"] == ["billing/focus/early.csv", "billing/focus/late.csv"]
    assert {day for day, _ in result_sums(store)} == {date(2024, 9, d) for d in range(1, 9)}


def test_a_google_export_in_two_folders_and_formats_counts_once(external: Path, tmp_path: Path) -> None:
    """The same Google export as CSV in one folder and Parquet (two shards) in a newer one: not byte-identical,
    still one bill: the CSV's folder is overlapping, both shards of the newer folder count."""
    import pyarrow.csv as pacsv

    sample = external / "gcp/koku_gcp_detailed_export_2022-08-01.csv"
    table = pacsv.read_csv(sample)
    alone = LocalStore(tmp_path / "alone")
    alone.write("billing/gcp/export.csv", sample.read_bytes())
    pipeline.merge(alone, SETTINGS)
    store = LocalStore(tmp_path / "both")
    store.write("billing/gcp-old/export.csv", sample.read_bytes())
    store.write("billing/gcp-new/part-0.parquet", parquet_bytes(table.slice(0, 4)))
    store.write("billing/gcp-new/part-1.parquet", parquet_bytes(table.slice(4)))
    _aged(tmp_path / "both", "billing/gcp-old/export.csv")
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == ["billing/gcp-old/export.csv"]
    assert _ledger(store) == {
        "billing/gcp-old/export.csv": "overlapping",
        "billing/gcp-new/part-0.parquet": "accepted",
        "billing/gcp-new/part-1.parquet": "accepted",
    }
    assert result_sums(store) == pytest.approx(result_sums(alone))


def test_a_late_line_in_the_next_periods_run_of_one_export_is_no_overlap(tmp_path: Path) -> None:
    """July's CUR 2.0 run carries a late line dated in June: both periods' folders still count (one export)."""
    store = LocalStore(tmp_path)
    july = [(date(2025, 7, 2), 3.0, "USD"), (date(2025, 6, 4), 0.5, "USD")]
    cur2_run(store, "cur2-a", date(2025, 6, 1), JUNE, execution="e1", payer="111122223333")
    cur2_run(store, "cur2-a", date(2025, 7, 1), july, execution="e2", payer="111122223333")
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == [] and set(_ledger(store).values()) == {"accepted"}
    assert_sums(store, expected(JUNE, july))


def test_shards_of_one_export_in_one_folder_all_count(external: Path, tmp_path: Path) -> None:
    """The FOCUS sample split into shards of one folder (same account, same days): every shard counts."""
    sample = (external / "focus/FOCUS-Sample-Data_FOCUS-1.0_Oracle_only.csv").read_bytes()
    header, rows = _csv_rows(sample)
    whole = LocalStore(tmp_path / "whole")
    whole.write("billing/focus/sample.csv", sample)
    pipeline.merge(whole, SETTINGS)
    store = LocalStore(tmp_path / "shards")
    # both shards hold lines of account 20209880 on 2024-09-21
    store.write("billing/focus/part-0.csv", _csv_bytes(header, [rows[0], *rows[2:4]]))
    store.write("billing/focus/part-1.csv", _csv_bytes(header, [rows[1], *rows[4:]]))
    _aged(tmp_path / "shards", "billing/focus/part-0.csv")
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == [] and set(_ledger(store).values()) == {"accepted"}
    assert result_sums(store) == pytest.approx(result_sums(whole))


def test_exports_partitioned_by_day_with_late_lines_all_count(external: Path, tmp_path: Path) -> None:
    """The AWS FOCUS sample as one folder per charge day, each newer folder also carrying two late lines of the day
    before (as an extract by export date does): a few shared account-days are no re-export, every folder counts
    and the result is the whole sample's."""
    import os

    sample = (external / "focus/FOCUS-Sample-Data_FOCUS-1.0_AWS_only.csv").read_bytes()
    header, rows = _csv_rows(sample)
    start = header.index("ChargePeriodStart")
    days = sorted({r[start][:10] for r in rows})[:5]
    kept = [r for r in rows if r[start][:10] in days]
    whole = LocalStore(tmp_path / "whole")
    whole.write("billing/focus/sample.csv", _csv_bytes(header, kept))
    pipeline.merge(whole, SETTINGS)
    store = LocalStore(tmp_path / "by-day")
    folders: dict[str, list[list[str]]] = {d: [r for r in kept if r[start][:10] == d] for d in days}
    for earlier, later in itertools.pairwise(days):
        late, folders[earlier] = folders[earlier][:2], folders[earlier][2:]
        folders[later] = [*folders[later], *late]
    for n, (day, lines) in enumerate(folders.items()):
        key = f"billing/focus/export_date={day}/part-0.csv"
        store.write(key, _csv_bytes(header, lines))
        os.utime(tmp_path / "by-day" / key, (1_000 + n, 1_000 + n))  # each day's extract newer than the last
    summary = pipeline.merge(store, SETTINGS)
    assert summary.overlapping == [] and set(_ledger(store).values()) == {"accepted"}
    assert result_sums(store) == pytest.approx(result_sums(whole))


# --- values -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["Infinity", "-inf", "1e308", "1e16", "NaN", "nan", "NAN", "inf", "-Infinity", "INF", " nan "]
)
def test_bad_input_non_finite_or_huge_cost_rejects_the_file(tmp_path: Path, value: str) -> None:
    store = LocalStore(tmp_path)
    store.write("billing/good.csv", focus_csv(JUNE))
    bad = focus_csv([*EUR, (date(2025, 6, 4), 1.0, "USD")]).decode().replace("1.0,1.0,1.0,1.0", f"{value},1,1,1")
    store.write("billing/bad.csv", bad.encode())
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/bad.csv"]
    assert "row 1 column 'BilledCost': expected a finite cost" in summary.reasons["billing/bad.csv"]
    assert_sums(store, expected(JUNE))


def test_bad_input_nan_cost_in_parquet_rejects_the_file(tmp_path: Path) -> None:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(pa.BufferReader(focus_csv(JUNE)))
    column = table.schema.get_field_index("BilledCost")
    store = LocalStore(tmp_path)
    store.write(
        "billing/nan.parquet", parquet_bytes(table.set_column(column, "BilledCost", pa.array([1.0, math.nan, 2.0])))
    )
    store.write("billing/good.csv", focus_csv(EUR))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/nan.parquet"] and "found nan" in summary.reasons["billing/nan.parquet"]
    assert_sums(store, expected(EUR))


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-inf"])
def test_bad_input_non_finite_cost_text_in_a_google_export_rejects_the_file(
    external: Path, tmp_path: Path, value: str
) -> None:
    """Cost text read as a number in any format (here a Google export's `cost`, as text in Parquet) is never a
    silent null: the file is rejected naming row and column."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(external / "gcp/koku_gcp_detailed_export_2022-08-01.csv")
    index = table.schema.get_field_index("cost")
    costs = [repr(v) for v in table.column("cost").to_pylist()]
    costs[2] = value
    store = LocalStore(tmp_path)
    store.write("billing/gcp/export.parquet", parquet_bytes(table.set_column(index, "cost", pa.array(costs))))
    store.write("billing/good.csv", focus_csv(JUNE))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/gcp/export.parquet"]
    assert "row 2 column 'BilledCost': expected a finite cost" in summary.reasons["billing/gcp/export.parquet"]
    assert_sums(store, expected(JUNE))


def test_bad_input_blank_currency_rejects_the_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write("billing/blank.csv", focus_csv([(date(2025, 6, 4), 3.0, " ")]))
    store.write("billing/good.csv", focus_csv(JUNE))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/blank.csv"]
    assert "column 'BillingCurrency'" in summary.reasons["billing/blank.csv"]
    assert_sums(store, expected(JUNE))


@pytest.mark.parametrize("cost", ["5.0", "-5.0"])
def test_bad_input_money_with_no_charge_period_start_rejects_the_file(tmp_path: Path, cost: str) -> None:
    """A line with money and no ChargePeriodStart belongs to no day: it was counted in the file's rows and in no
    day's total, its money dropped without a word. A line without money and without a start drops nothing."""
    store = LocalStore(tmp_path)
    whole = focus_csv([(date(2025, 6, 4), 1.0, "USD"), (date(2025, 6, 4), 9.0, "USD")]).decode()
    undated = whole.replace("2025-06-04T05:00:00Z,2025-06-04T06:00:00Z,AWS,EC2,i-0001,Usage,USD,9.0",
                            f",2025-06-04T06:00:00Z,AWS,EC2,i-0001,Usage,USD,{cost}")  # fmt: skip
    assert undated.count(",,2025-06-04T06:00:00Z") == 1
    store.write("billing/undated.csv", undated.encode())
    store.write("billing/good.csv", focus_csv(JUNE))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/undated.csv"]
    assert (
        f"row 1 column 'ChargePeriodStart': expected the start of the line's charge period, found a blank "
        f"(its BilledCost is {float(cost)!r})"
    ) in summary.reasons["billing/undated.csv"]
    assert_sums(store, expected(JUNE))
    free = undated.replace(f"USD,{cost},9.0,9.0,9.0", "USD,0.0,,,")
    assert free != undated
    store.write("billing/undated.csv", free.encode())
    again = pipeline.merge(store, SETTINGS)
    assert not again.bad_inputs
    assert_sums(store, expected([*JUNE, (date(2025, 6, 4), 1.0, "USD")]))


def test_bad_input_money_ending_before_its_start_rejects_the_file(tmp_path: Path) -> None:
    """A line whose ChargePeriodEnd is before its start overlaps no allocation: its node's money went whole to the
    node's idle, as if no pod had run there. A line ending at its start, or without money, drops nothing."""
    store = LocalStore(tmp_path)
    whole = focus_csv([(date(2025, 6, 4), 1.0, "USD"), (date(2025, 6, 4), 9.0, "USD")]).decode()
    line = "2025-06-04T05:00:00Z,2025-06-04T06:00:00Z,AWS,EC2,i-0001,Usage,USD,9.0"
    backwards = whole.replace(line, line.replace("2025-06-04T06:00:00Z", "2025-06-04T04:59:59Z"))
    assert backwards != whole
    store.write("billing/backwards.csv", backwards.encode())
    store.write("billing/good.csv", focus_csv(JUNE))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/backwards.csv"]
    assert (
        "row 1 column 'ChargePeriodEnd': expected the end of the line's charge period at or after its start "
        "2025-06-04T05:00:00+00:00, found 2025-06-04T04:59:59+00:00"
    ) in summary.reasons["billing/backwards.csv"]
    assert_sums(store, expected(JUNE))
    priced = "04:59:59Z,AWS,EC2,i-0001,Usage,USD,"
    free = backwards.replace(f"{priced}9.0,9.0,9.0,9.0", f"{priced}0.0,,,")
    at_start = whole.replace(line, line.replace("2025-06-04T06:00:00Z", "2025-06-04T05:00:00Z"))
    assert free != backwards and at_start != whole
    for fixed in (at_start, free):
        store.write("billing/backwards.csv", fixed.encode())
        again = pipeline.merge(store, SETTINGS)
        assert not again.bad_inputs
    assert_sums(store, expected([*JUNE, (date(2025, 6, 4), 1.0, "USD")]))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(math.nan, "a finite number"), (math.inf, "a finite number"), (1e308, "a number of at most ±1e+15")],
)
def test_bad_input_allocation_with_non_finite_or_huge_cost_is_rejected(
    tmp_path: Path, value: float, expected: str
) -> None:
    """A finite 1e308 too: accepted, it made the day's weights inf and its ratios NaN, and the whole day failed its
    checks, every other export of the day with it."""
    store = make_store(tmp_path)
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    store.write(key, parquet_bytes(allocation([alloc_row(cluster="c2", node="n9", provider_id="i-9", cpu=value)])))
    summary = pipeline.merge(store, SETTINGS, days=[DAY])
    assert summary.merged == [DAY] and summary.bad_inputs == [key]
    assert f"row 0 column 'cpu_cost': expected {expected}" in summary.reasons[key]
    assert result_sums(store) == {(DAY, "USD"): pytest.approx(15.0)}


@pytest.mark.parametrize(
    ("start", "hours", "column", "expected"),
    [
        (5, -1, "window_end", "expected the end of the allocation window at or after its start, found "
         "2025-06-17T05:00:00+00:00 .. 2025-06-17T04:00:00+00:00"),
        (72, 1, "window_start", "expected a window overlapping 2025-06-17, the day of its key, found "
         "2025-06-20T00:00:00+00:00 .. 2025-06-20T01:00:00+00:00"),
        (-1, 1, "window_start", "expected a window overlapping 2025-06-17, the day of its key, found "
         "2025-06-16T23:00:00+00:00 .. 2025-06-17T00:00:00+00:00"),
    ],
)  # fmt: skip
def test_bad_input_allocation_window_backwards_or_off_its_day_is_rejected(
    tmp_path: Path, start: int, hours: int, column: str, expected: str
) -> None:
    """A window that ends before it starts, or lies outside the day its key names (another day's export under this
    day's key), overlaps no bill line of the day: the node's money went whole to its idle, the export accepted. A
    window that only straddles the day's edge is good, and so is an empty one at the day's first instant."""
    store = make_store(tmp_path)
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    good = [alloc_row(cluster="c2", node="n9", provider_id="i-9", start=23, hours=2)]
    store.write(key, parquet_bytes(allocation([*good, alloc_row(cluster="c2", node="n9", provider_id="i-9",
                                                                start=start, hours=hours)])))  # fmt: skip
    summary = pipeline.merge(store, SETTINGS, days=[DAY])
    assert summary.merged == [DAY] and summary.bad_inputs == [key]
    assert f"{key}: row 1 column {column!r}: {expected}" in summary.reasons[key]
    assert result_sums(store) == {(DAY, "USD"): pytest.approx(15.0)}
    at_first_instant = alloc_row(cluster="c2", node="n9", provider_id="i-9", start=0, hours=0)
    store.write(key, parquet_bytes(allocation([*good, at_first_instant])))
    assert not pipeline.merge(store, SETTINGS, days=[DAY]).bad_inputs


def test_invariants_treat_nan_as_a_violation() -> None:
    with pytest.raises(InvariantViolation, match="nan"):
        invariants.raise_if_off("line x row 1", "BilledCost", 1.0, math.nan, "its rows")
    with pytest.raises(InvariantViolation):
        invariants.raise_if_off("line x row 1", "BilledCost", math.nan, math.nan, "its rows")
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE bill_lines AS SELECT 1 AS lid, 'k' AS x_SourceKey, 0 AS x_SourceRowId, "
                "'r' AS ResourceId, 'USD' AS BillingCurrency, 1.0::DOUBLE AS BilledCost, 1.0::DOUBLE AS EffectiveCost, "
                "1.0::DOUBLE AS ListCost, 1.0::DOUBLE AS ContractedCost")  # fmt: skip
    con.execute("CREATE TABLE allocated_rows AS SELECT 1 AS lid, 1.0::DOUBLE AS ratio, 'USD' AS BillingCurrency, "
                "'nan'::DOUBLE AS BilledCost, 1.0::DOUBLE AS EffectiveCost, 1.0::DOUBLE AS ListCost, "
                "1.0::DOUBLE AS ContractedCost")  # fmt: skip
    con.execute("CREATE TABLE passed_lines AS SELECT * FROM allocated_rows WHERE false")
    with pytest.raises(InvariantViolation, match="row 0"):
        invariants.check(con)


def test_bad_input_allocation_with_a_mistyped_column_is_rejected_and_other_days_merge(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    table = allocation([alloc_row(cluster="c2", node="n9", provider_id="i-9")])
    index = table.schema.get_field_index("ram_cost")
    store.write(key, parquet_bytes(table.set_column(index, "ram_cost", pa.array(["0.5"]))))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [DAY] and summary.bad_inputs == [key]
    assert "column 'ram_cost' is string, expected double" in summary.reasons[key]


def test_bad_input_renamed_namespace_rejects_the_export_its_cluster_goes_unallocated_then_remerges(
    tmp_path: Path,
) -> None:
    store = make_store(tmp_path)
    bill = [("arn:aws:ec2:us-east-1:1:instance/i-0002", 2.0, h) for h in range(3)]
    from tests.pipeline.merge_inputs import focus_csv as hourly

    store.write("billing/focus/c2.csv", hourly(bill, tags='{"aws:eks:cluster-name": "c2"}'))
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    good = allocation([alloc_row(cluster="c2", node="n2", provider_id="i-0002", start=h) for h in range(3)])
    store.write(key, parquet_bytes(good.rename_columns(["ns" if n == "namespace" else n for n in good.column_names])))
    summary = pipeline.merge(store, SETTINGS)
    assert summary.unallocated == [key] and "missing column 'namespace'" in summary.reasons[key]
    from kubebill.commands.merge import describe
    from kubebill.sinks import results

    assert key in describe(summary)
    table = results.read_day(store, LAYOUT, DAY)
    c2 = table.filter(pa.compute.equal(table["x_K8sCluster"], "c2"))
    assert set(c2["x_K8sAllocation"].to_pylist()) == {"unallocated"}
    assert sum(c2["BilledCost"].to_pylist()) == pytest.approx(6.0)
    store.write(key, parquet_bytes(good))  # the good export lands
    again = pipeline.merge(store, SETTINGS)
    assert again.merged == [DAY] and not again.bad_inputs
    table = results.read_day(store, LAYOUT, DAY)
    c2 = table.filter(pa.compute.equal(table["x_K8sCluster"], "c2"))
    assert "unallocated" not in set(c2["x_K8sAllocation"].to_pylist())
    assert sum(c2["BilledCost"].to_pylist()) == pytest.approx(6.0)


# --- one file never stops the others ----------------------------------------------------------------------

BROKEN = {
    "bare-cr-in-header": b"BilledCost,Charge\rPeriodStart,EffectiveCost\n1,2025-06-04,1\n",
    "nul-in-header": b"BilledCost,\x00ChargePeriodStart\n1,2025-06-04\n",
    "latin-1-text-in-rows": focus_csv(EUR, text="café-ü").decode().encode("latin-1"),
    "not-utf8-binary": bytes(range(256)) * 4,
    "empty": b"",
    "truncated-mid-row": focus_csv(EUR * 3)[:-25],
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_bad_input_unparseable_bill_is_rejected_naming_it_and_the_others_merge(tmp_path: Path, name: str) -> None:
    store = LocalStore(tmp_path)
    store.write("billing/good.csv", focus_csv(JUNE))
    store.write(f"billing/{name}.csv", BROKEN[name])
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == [f"billing/{name}.csv"]
    assert summary.reasons[f"billing/{name}.csv"]
    assert_sums(store, expected(JUNE))
    assert health.read(store, LAYOUT)["inputs"]["rejected"] == 1


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (gzip.compress(focus_csv(EUR)), "gzip-compressed bytes under a name without .gz"),
        (focus_csv(EUR).decode().encode("utf-16"), "UTF-16 text: expected UTF-8"),
        (cur2_parquet(EUR), "a Parquet file under a name without .parquet"),
    ],
    ids=["gzip", "utf-16", "parquet"],
)
def test_bad_input_a_bill_of_other_bytes_than_its_name_says_is_rejected_saying_what_it_is(
    tmp_path: Path, body: bytes, found: str
) -> None:
    store = LocalStore(tmp_path)
    store.write("billing/good.csv", focus_csv(JUNE))
    store.write("billing/other.csv", body)
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/other.csv"]
    assert summary.reasons["billing/other.csv"].startswith(f"billing/other.csv: {found}")
    assert_sums(store, expected(JUNE))


def test_bad_input_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write("billing/good.csv", focus_csv(JUNE))
    whole = gzip.compress(focus_csv(EUR * 2000))
    store.write("billing/cut.csv.gz", whole[: len(whole) // 2])
    summary = pipeline.merge(store, SETTINGS)
    assert summary.bad_inputs == ["billing/cut.csv.gz"] and "cut.csv.gz" in summary.reasons["billing/cut.csv.gz"]
    assert_sums(store, expected(JUNE))


def test_bad_input_cli_merge_exits_0_naming_the_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = LocalStore(tmp_path)
    store.write("billing/good.csv", focus_csv(JUNE))
    store.write("billing/cr.csv", BROKEN["bare-cr-in-header"])
    run = subprocess.run([sys.executable, "-m", "kubebill.cli", "merge", "--store", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "billing/cr.csv" in run.stdout and "Traceback" not in run.stderr


def test_split_cost_child_rows_are_counted_as_excluded_by_rule(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    data, _ = cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1", split_rows=4)
    pipeline.merge(store, SETTINGS)
    entry = LedgerStore(store, LAYOUT).load()[0].entries[data]
    assert entry.rows == 3 and dict(entry.excluded) == {"aws-split-cost-allocation-child-row": 4}
    assert_sums(store, expected(JUNE))


# --- staleness --------------------------------------------------------------------------------------------


def test_outputs_written_then_killed_before_the_commit_are_merged_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubebill.sinks import results

    store = make_store(tmp_path)
    real = results.write_month_csv

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # stands in for a kill between the day's Parquet and the month's CSV

    monkeypatch.setattr(results, "write_month_csv", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.merge(store, SETTINGS)
    monkeypatch.setattr(results, "write_month_csv", real)
    again = pipeline.merge(store, SETTINGS)
    assert again.merged == [DAY] and again.unchanged == []
    assert store.head(LAYOUT.result_csv_key(2025, 6))
    assert pipeline.merge(store, SETTINGS).days == []


@pytest.mark.parametrize("how", ["restated in place", "superseded by a new run", "restated after a broken version"])
def test_a_day_a_restated_bill_no_longer_covers_loses_that_money(any_store: Backend, how: str) -> None:
    """A bill merged into days 3-5, then restated with lines on the 4th only. Days 3 and 5 have no input left:
    their results would keep the old money (the month summing to more than the bill) unless merged again. An input
    deleted leaves the results as they are: exports expire, and the results are the record."""
    store = any_store.store
    if how == "superseded by a new run":
        cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    else:
        store.write("billing/focus/june.csv", focus_csv(JUNE))
    pipeline.merge(store, SETTINGS)
    assert_sums(store, expected(JUNE))
    if how == "restated after a broken version":  # rejected over two merges: the ledger still knows its days
        store.write("billing/focus/june.csv", b"BilledCost,ChargePeriodStart\nx,2025-06-04\n")
        for _ in range(2):
            assert pipeline.merge(store, SETTINGS).bad_inputs == ["billing/focus/june.csv"]
            assert_sums(store, expected(JUNE))
    if how != "superseded by a new run":
        store.write("billing/focus/june.csv", focus_csv(EUR))
    else:
        cur2_run(store, "cur2", date(2025, 6, 1), EUR, execution="e2")  # a new data key, the manifest rewritten
    summary = pipeline.merge(store, SETTINGS)
    assert summary.merged == [date(2025, 6, d) for d in (3, 4, 5)]  # 3 and 5 merged to no line
    assert_sums(store, expected(EUR))
    assert pipeline.merge(store, SETTINGS).days == []
    month = store.read_bytes(LAYOUT.result_csv_key(2025, 6)).decode().splitlines()
    assert len(month) == 2 and ",EUR," in month[1]  # the month's CSV: the header and the one line left
    for info in store.list("billing/"):
        store.delete(info.key)
    assert pipeline.merge(store, SETTINGS).days == []
    assert_sums(store, expected(EUR))


def test_a_day_left_without_its_restated_bill_is_emptied_after_a_killed_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger moves on before the days are merged: a merge killed then must not forget the days the restated
    bill left (they are recorded first, and the next merge empties them)."""
    store = LocalStore(tmp_path)
    store.write("billing/focus/june.csv", focus_csv(JUNE))
    pipeline.merge(store, SETTINGS)
    store.write("billing/focus/june.csv", focus_csv(EUR))
    real = pipeline._merge_day

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_merge_day", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.merge(store, SETTINGS)
    monkeypatch.setattr(pipeline, "_merge_day", real)
    assert sorted(pipeline.merge(store, SETTINGS).merged) == [date(2025, 6, d) for d in (3, 4, 5)]
    assert_sums(store, expected(EUR))
    assert pipeline.merge(store, SETTINGS).days == []


def test_result_changing_settings_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    weighted = dataclasses.replace(SETTINGS, shared_spread="weighted")
    assert pipeline.merge(store, weighted).merged == [DAY]
    assert pipeline.merge(store, SETTINGS).merged == [DAY]
    other = "aws-split-cost"
    assert pipeline.merge(store, dataclasses.replace(SETTINGS, split_method=other)).merged == [DAY]
    assert pipeline.merge(store, dataclasses.replace(SETTINGS, split_method=other)).days == []


def test_conservation_from_the_ledger_fails_the_day_naming_it_and_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path)
    store.write("billing/good.csv", focus_csv(JUNE))
    real = pipeline._Staged.expected

    def off_by_a_cent(self: pipeline._Staged, units: list[object], day: date) -> dict[str, dict[str, float]]:
        sums = real(self, units, day)
        if day == date(2025, 6, 4):
            sums["USD"]["BilledCost"] += 0.01
        return sums

    monkeypatch.setattr(pipeline._Staged, "expected", off_by_a_cent)
    from kubebill.errors import InputError

    with pytest.raises(InputError, match=r"2025-06-04 in USD: Σ BilledCost .*inputs: billing/good.csv"):
        pipeline.merge(store, SETTINGS)
    assert {d for d, _ in result_sums(store)} == {date(2025, 6, 3), date(2025, 6, 5)}


# --- demo, secrets, handlers ------------------------------------------------------------------------------


def test_demo_refuses_a_folder_it_did_not_create(tmp_path: Path) -> None:
    from kubebill.commands import demo
    from kubebill.errors import InputError

    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "mine.txt").write_text("the user's")
    with pytest.raises(InputError, match=r"not empty and was not created by `kubebill demo`"):
        demo._claim(tmp_path)
    assert (tmp_path / "store" / "mine.txt").read_text() == "the user's"
    fresh = tmp_path / "new"
    demo._claim(fresh)
    assert (fresh / demo.MARKER).is_file()
    demo._claim(fresh)  # its own folder: accepted again
    with pytest.raises(InputError, match="expected a folder"):
        demo._claim(tmp_path / "store" / "mine.txt")


def test_source_url_credentials_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    import requests

    from kubebill.errors import SourceError, Unreachable
    from kubebill.sources import http

    assert http.redact("GET http://ann:s3cret@127.0.0.1:9/x failed") == "GET http://***@127.0.0.1:9/x failed"
    options = http.HttpOptions(retry_seconds=0.2, backoff_seconds=0.01, backoff_cap_seconds=0.01,
                               connect_timeout=0.5, read_timeout=0.5)  # fmt: skip
    with requests.Session() as session, pytest.raises((SourceError, Unreachable)) as caught:
        http.get(session, "http://ann:s3cret@127.0.0.1:9/allocation", {}, lambda c: None, options=options)
    assert "s3cret" not in str(caught.value) and "***@127.0.0.1" in str(caught.value)
    assert "s3cret" not in caplog.text


def test_settings_repr_hides_source_url_credentials_and_secrets() -> None:
    settings = Settings.from_env(
        {"KUBEBILL_SOURCE_URL": "http://ann:s3cret@opencost.opencost:9003", "KUBEBILL_METRICS_TOKEN": "t0ken"}
    )
    assert settings.source_url == "http://ann:s3cret@opencost.opencost:9003"  # the value itself is intact
    shown = repr(settings)
    assert "s3cret" not in shown and "ann" not in shown and "t0ken" not in shown
    assert "source_url='http://***@opencost.opencost:9003'" in shown and "metrics_token='***'" in shown
    assert "metrics_token=None" in repr(Settings()) and str(settings) == shown


@pytest.mark.parametrize("headers", [None, [], "x", 3, [("Authorization", "Bearer t")], {"authorization": 5}])
def test_metrics_header_lookup_tolerates_any_shape(headers: object) -> None:
    from kubebill import runtime

    found = runtime.header(headers, "authorization")
    assert found == ("Bearer t" if isinstance(headers, list) and headers else None)


def test_catch_up_with_a_day_that_cannot_merge_returns_a_bad_input_result(tmp_path: Path) -> None:
    from kubebill import runtime

    store = make_store(tmp_path)
    key = LAYOUT.allocation_key("c2", DAY, "opencost")
    store.write(key, parquet_bytes(allocation([alloc_row(cluster="c2", node="n9", provider_id="i-9")])))
    pipeline.merge(store, SETTINGS)
    store.write(key, b"PAR1 not parquet")  # replaces a merged export
    rt = runtime.Runtime(dataclasses.replace(SETTINGS, store=str(tmp_path), restate_days=1), "b", "", store)
    fields = runtime.catch_up(rt, source="test", today=date(2025, 6, 18))
    assert fields["decision"] == "bad-input" and key in fields["reason"]


def test_status_lists_every_input_per_state_and_as_json(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = LocalStore(tmp_path)
    cur2_run(store, "cur2", date(2025, 6, 1), JUNE, execution="e1")
    store.write("billing/readme.txt", b"notes")
    store.write("billing/cr.csv", BROKEN["bare-cr-in-header"])
    store.write("billing/focus.csv", focus_csv(EUR))
    store.write("billing/focus-copy.csv", focus_csv(EUR))

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kubebill.cli", "status", "--store", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    assert "no merge has run" in status().stdout
    pipeline.merge(store, SETTINGS)
    table = status()
    assert table.returncode == 0, table.stderr
    assert (
        "inputs: 3 accepted, 0 waiting, 0 superseded, 1 duplicate, 0 overlapping, 1 rejected, 1 ignored" in table.stdout
    )
    for heading in ("accepted (3)", "duplicate (1)", "rejected (1)", "ignored (1)"):
        assert heading in table.stdout
    doc = json.loads(status("--format", "json").stdout)
    assert {e["key"]: e["state"] for e in doc["entries"]} == _ledger(store)
    from kubebill.sinks import metrics

    body, _ = metrics.render(store, SETTINGS)
    assert re.search(r'^kubebill_inputs\{state="accepted"[^}]*\} 3$', body.decode(), re.M)
    assert re.search(r'^kubebill_inputs\{state="rejected"[^}]*\} 1$', body.decode(), re.M)


def test_result_and_report_csv_neutralise_formulas(tmp_path: Path) -> None:
    import csv
    import io

    from kubebill.sinks import csvsafe, report, report_format

    store = LocalStore(tmp_path)
    store.write("billing/f.csv", focus_csv([(date(2025, 6, 4), -2.5, "USD"), (date(2025, 6, 4), 3.0, "USD")],
                                           text='=HYPERLINK("http://x","y")'))  # fmt: skip
    pipeline.merge(store, SETTINGS)
    rows = list(csv.DictReader(io.StringIO(store.read_bytes(LAYOUT.result_csv_key(2025, 6)).decode())))
    assert {r["ResourceId"] for r in rows} == {'\'=HYPERLINK("http://x","y")'}
    assert sorted(float(r["BilledCost"]) for r in rows) == [-2.5, 3.0]  # negative numbers stay numbers
    from kubebill.sinks import results

    assert set(results.read_day(store, LAYOUT, date(2025, 6, 4))["ResourceId"].to_pylist()) == {
        '=HYPERLINK("http://x","y")'
    }  # the Parquet keeps the exact value
    for text in ("=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert csvsafe.cell(text) == "'" + text
    for number in ("-2.5", "+3", "-1e-05", "12", "abc", ""):
        assert csvsafe.cell(number) == number
    row = report.Row(("=cmd|x",), "USD", Decimal("-1.5"), Decimal("-1.5"), Decimal("2"))
    text = report_format.format_csv([row], keys=["namespace"], cost="all")
    assert text.splitlines()[1].startswith("'=cmd|x,USD,-1.50,-1.50,2.00,")
