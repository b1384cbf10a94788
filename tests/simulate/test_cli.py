"""`kubebill simulate` prints what it wrote and exits 0; bad values exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubebill.cli import main


def test_prints_files_and_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "simulate",
            "--out",
            str(tmp_path),
            "--provider",
            "aws",
            "--provider",
            "azure",
            "--nodes",
            "2",
            "--pods",
            "3",
            "--days",
            "1",
            "--end",
            "2025-06-17",
            "--seed",
            "5",
        ]
    )
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    listed = {line.split()[1]: int(line.split()[0]) for line in printed[:-1]}
    assert "ground_truth.parquet" in listed
    assert any(k.startswith("billing/aws/") and k.endswith(".snappy.parquet") and v > 0 for k, v in listed.items())
    assert any(k.startswith("billing/azure/") and k.endswith(".csv") and v > 0 for k, v in listed.items())
    assert not any(k.startswith("billing/gcp/") for k in listed)
    assert all((tmp_path / k).is_file() for k in listed)
    assert printed[-1].startswith(f"wrote {len(listed)} files under {tmp_path}")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--nodes", "0"], "--nodes must be at least 1, got 0"),
        (["--days", "-2"], "--days must be at least 1, got -2"),
        (["--end", "2025-02-30"], "expected a date as YYYY-MM-DD, got '2025-02-30'"),
        (["--pods", "1000000"], "too large"),
    ],
)
def test_bad_values_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["simulate", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err


def test_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["simulate", "--out", str(target)]) == 2
    assert "expected a folder" in capsys.readouterr().err


def test_serve_answers_as_opencost_for_a_hand_export(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "kubebill.cli", "simulate", "--serve", "--port", str(port), "--days", "1",
         "--end", "2025-06-17", "--nodes", "2", "--pods", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"simulated OpenCost of eks-prod-1 at http://127.0.0.1:{port}" in first, server.stderr
        result = subprocess.run(
            [sys.executable, "-m", "kubebill.cli", "export", "--url", f"http://127.0.0.1:{port}", "--date",
             "2025-06-17", "--store", str(tmp_path), "--workers", "1"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "for cluster eks-prod-1" in result.stdout  # the name the simulated answer carries
    finally:
        server.terminate()
        server.wait(timeout=10)
