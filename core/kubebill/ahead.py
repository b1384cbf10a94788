"""An iterator's items made on a thread of their own, a few ahead of the caller that consumes them."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable
from queue import Full, Queue
from typing import TypeVar

T = TypeVar("T")

# Items made ahead of their consumer. The result's writer: DuckDB widening the next rows (and Arrow taking their
# targets) runs while Arrow encodes the last ones; the bill's staging: the next batch read and normalised while the
# last is encoded. Both sides release the GIL. Each item is a row group: a result's is a few MB, a staged bill's
# batch tens of MB.
AHEAD = 2


def ahead(items: Iterable[T], *, depth: int = AHEAD) -> Generator[T, None, None]:
    """`items` in their order, taken from their iterator on a thread of its own up to `depth` ahead. An error
    of the iterator is raised here; when the caller stops early (an error of its own), the thread stops taking
    and closes the iterator before this returns, so the caller may use what the iterator used again."""
    queue: Queue[tuple[T | None, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[T | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put((item, None)):
                    break
            else:
                put((None, None))
        except BaseException as exc:  # handed to the caller's thread, which raises it
            put((None, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="kubebill-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        thread.join()
