"""open_store refuses a URL it cannot use with one line naming the URL and the cause (StoreError, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kubebill.errors import StoreError
from kubebill.store import LocalStore, open_store
from tests.emulators import AZURITE_ACCOUNT, AZURITE_KEY, ROOT, Backend, free_port

SCHEMES = {"s3": "s3", "azure": "az", "gcs": "gs"}


def _refused(url: str, *words: str) -> str:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert message.startswith(f"{url}: ") and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def _missing_url(backend: Backend) -> str:
    return f"{SCHEMES[backend.name]}://missing-{uuid.uuid4().hex[:12]}/some/prefix"


@pytest.mark.parametrize("url", ["ftp://host/path", "http://bucket/x", "hdfs://nn/data"])
def test_an_unknown_scheme_is_refused(url: str) -> None:
    _refused(url, "unknown scheme")


@pytest.mark.parametrize("url", ["s3://", "az:///only-a-path", "gs://"])
def test_a_cloud_url_needs_a_bucket(url: str) -> None:
    _refused(url, "expected")


def test_local_urls(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    _refused((tmp_path / "file").as_uri(), "not a directory")
    _refused("file://otherhost/data", "absolute")
    assert isinstance(open_store(str(tmp_path / "new")), LocalStore)
    assert isinstance(open_store((tmp_path / "new").as_uri()), LocalStore)


@pytest.mark.parametrize("name", ["s3", "azure", "gcs"])
def test_a_missing_bucket_or_container_is_refused(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(f"{name}_env")
    _refused(_missing_url(backend), "does not exist", "missing-")


@pytest.mark.parametrize("name", ["s3", "azure", "gcs"])
def test_an_unreachable_endpoint_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for variable in ("AWS_PROFILE", "AZURE_STORAGE_ACCOUNT_NAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={closed}/{AZURITE_ACCOUNT};",
    )
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", closed)
    _refused(f"{SCHEMES[name]}://bucket/prefix", "reach")


def test_refused_azure_credentials(azure_env: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "d3Jvbmcga2V5IGZvciB0aGUgZGV2IGFjY291bnQgLSBub3QgYSBzZWNyZXQ="
    connection = azure_env.env["AZURE_STORAGE_CONNECTION_STRING"].replace(AZURITE_KEY, wrong)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    _refused(azure_env.url, "credentials refused")


def test_azure_needs_an_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    _refused("az://container/prefix", "AZURE_STORAGE_ACCOUNT_NAME")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "not a connection string")
    _refused("az://container/prefix", "AZURE_STORAGE_CONNECTION_STRING")


def test_s3_without_any_credentials(moto_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _refused("s3://bucket/prefix", "no AWS credentials")


@pytest.mark.parametrize("name", ["s3", "azure", "gcs"])
def test_the_cli_says_one_line_and_exits_2_for_a_bad_store(name: str, request: pytest.FixtureRequest) -> None:
    backend: Backend = request.getfixturevalue(f"{name}_env")
    url = _missing_url(backend)
    env = {**os.environ, **backend.env, "PYTHONPATH": str(ROOT / "core")}
    done = subprocess.run(
        [sys.executable, "-m", "kubebill.cli", "handle", "billing/some/key.csv", "--store", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kubebill handle: {url}: "), done.stderr
    assert f"{url.split('/')[2]!r} does not exist" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
