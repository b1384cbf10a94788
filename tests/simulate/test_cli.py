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
