"""`kubebill serve` as users run it: the real CLI in a child process on 127.0.0.1, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.sinks.conftest import free_port, wait_for

KUBEBILL = Path(sys.executable).parent / "kubebill"


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, headers=headers, timeout=30)

    def stop(self) -> int:
        """SIGTERM, as Kubernetes sends it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a hung shutdown: SIGABRT makes faulthandler dump every thread to the log
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=10)
            raise


def start(store_url: str, log: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """Start `kubebill serve` on a free port and wait until /healthz answers."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KUBEBILL_")}
    environment.update(env or {}, PYTHONFAULTHANDLER="1")
    command = [str(KUBEBILL), "serve", "--store", store_url, "--bind", "127.0.0.1", "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=environment)
    served = Served(f"http://127.0.0.1:{port}", port, process, log)
    try:
        wait_for(
            lambda: process.poll() is None and served.get("/healthz").status_code == 200,
            timeout=60,
            what=f"kubebill serve to answer (exit {process.poll()}, log: {log})",
        )
    except BaseException:
        served.stop()
        raise
    return served


@contextmanager
def serving(store_url: str, log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    served = start(store_url, log, *args, env=env)
    try:
        yield served
    finally:
        served.stop()
