"""The input ledger: every object under the input prefixes in exactly one state after each scan and merge.

- `Entry` / `Ledger` (record.py): one entry per object key — accepted, waiting, superseded, duplicate, overlapping,
  rejected or ignored — with what the state refers to (run, manifest, other object) and, when accepted, the days,
  rows, excluded rows by rule and Σ of each cost column per day and currency read from the object's own lines.
- `LedgerStore` (persistence.py): the ledger as one JSON object under ``results/_state/``, written with
  conditional writes (only-if-absent / only-if-etag-matches).
- `DayQueue` / `QueueStore` (queue.py): the days recorded for a Spark merge (``KUBEBILL_ENGINE=spark``), in
  ``results/_state/queue.json``, changed by conditional writes.
- `totals.py`: the per-object sums taken from the COST batches as they are read.
"""

from kubebill.ledger.persistence import LedgerStore
from kubebill.ledger.queue import DayQueue, QueueStore
from kubebill.ledger.record import KINDS, STATES, Entry, Ledger, Totals

__all__ = ["KINDS", "STATES", "DayQueue", "Entry", "Ledger", "LedgerStore", "QueueStore", "Totals"]
