"""`kubebill status`: the input ledger — every billing and allocation object and its state."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kubebill.commands import common
from kubebill.layout import Layout
from kubebill.ledger import STATES, Entry, Ledger, LedgerStore
from kubebill.settings import Settings
from kubebill.store import open_store

HELP = (
    "the input ledger: every billing and allocation object and its state "
    "(accepted, waiting, superseded, duplicate, overlapping, rejected, ignored), as of the last merge"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_store(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="a table per state, or JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(common.store_url(args, settings))
    ledger, etag = LedgerStore(store, Layout.from_settings(settings)).load()
    if args.format == "json":
        json.dump({"merged": etag is not None, **ledger.to_json()}, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render(ledger, merged=etag is not None))
    return 0


def render(ledger: Ledger, *, merged: bool = True) -> str:
    """A count line, then one table per state that has objects."""
    if not merged:
        return "status: no merge has run on this store yet: run `kubebill merge` to build the input ledger\n"
    counts = ledger.counts()
    lines = ["inputs: " + ", ".join(f"{counts[s]} {s}" for s in STATES)]
    for state, entries in ledger.by_state().items():
        if not entries:
            continue
        lines += ["", f"{state} ({len(entries)})"]
        rows = [_row(e) for e in entries]
        header = ("kind", "key", "detail")
        widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(2)]
        lines.append(f"  {header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]}")
        lines += [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" for r in rows]
    return "\n".join(lines) + "\n"


def _row(entry: Entry) -> tuple[str, str, str]:
    detail: list[Any] = []
    if entry.state == "accepted" and entry.kind == "billing":
        days = f"{entry.days[0]}..{entry.days[-1]}" if len(entry.days) > 1 else "".join(entry.days) or "no line"
        detail.append(f"{entry.rows} rows, days {days}")
        detail += [f"{n} excluded ({rule})" for rule, n in sorted(entry.excluded.items())]
        if entry.run and entry.run != entry.key:
            detail.append(f"run {entry.run}")
    else:
        detail.append(entry.reason)
        if entry.other and entry.other not in entry.reason:
            detail.append(f"({entry.other})")
    return entry.kind, entry.key, "; ".join(str(d) for d in detail if d)
