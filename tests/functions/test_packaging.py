"""`kubebill package`: the artifacts build, have the platform's shape, and their entry points import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import quote_plus, urlparse

import pytest

from kubebill.cli import main
from kubebill.devtools import packaging, spark_job
from tests.emulators import Backend

RUNTIME_NAMES = {
    "azure": {"export_timer", "merge_blob", "catch_up_timer", "metrics_http"},
    "gcp": {"on_object_finalized", "on_schedule", "metrics"},
}


def _run(code: str, *paths: Path, isolated: bool = False, python: str = sys.executable) -> str:
    """Run `code` in a fresh interpreter with `paths` first on sys.path (`isolated`: no site-packages at all)."""
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}\n"
    flags = ["-S"] if isolated else []
    done = subprocess.run([python, *flags, "-c", prelude + code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _requirement_names(folder: Path) -> set[str]:
    return {packaging._name(line) for line in (folder / "requirements.txt").read_text().split()}


@pytest.mark.parametrize("cloud", ["azure", "gcp"])
def test_source_folder_shape_and_entry_points(cloud: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["package", "--cloud", cloud, "--out", str(tmp_path)]) == 0
    folder = tmp_path / cloud
    assert str(folder) in capsys.readouterr().out
    entry = {"azure": {"function_app.py", "host.json"}, "gcp": {"main.py"}}[cloud]
    assert entry | {"requirements.txt", "constraints.txt", "kubebill"} == {p.name for p in folder.iterdir()}
    assert not (folder / "kubebill" / "devtools").exists()
    assert (folder / "kubebill" / "pipeline.py").is_file()
    assert not list(folder.rglob("__pycache__"))
    names = _requirement_names(folder)
    assert {"pyarrow", "duckdb", "requests"} <= names
    assert "pandas" not in names
    assert {
        "azure": {"azure-functions", "azure-storage-blob", "azure-identity"},
        "gcp": {"functions-framework", "google-cloud-storage"},
    }[cloud] <= names
    if cloud == "azure":
        host = json.loads((folder / "host.json").read_text())
        assert host["version"] == "2.0" and host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
        found = _run(
            "import function_app, kubebill\n"
            f"assert kubebill.__file__.startswith({str(folder)!r}), kubebill.__file__\n"
            "print(' '.join(sorted(f.get_function_name() for f in function_app.app.get_functions())))",
            folder,
        )
    else:
        found = _run(
            "import functions_framework, kubebill\n"
            f"assert kubebill.__file__.startswith({str(folder)!r}), kubebill.__file__\n"
            "for t, s in (('on_object_finalized', 'cloudevent'), ('on_schedule', 'cloudevent'), ('metrics', 'http')):\n"
            f"    functions_framework.create_app(t, {str(folder / 'main.py')!r}, s)\n"
            "print('on_object_finalized on_schedule metrics')",
            folder,
        )
    assert set(found.split()) == RUNTIME_NAMES[cloud]


def test_lambda_wheel_platforms_follow_the_runtime_os():
    assert "manylinux_2_28_x86_64" in packaging.platform_tags("x86_64", "3.12")  # Amazon Linux 2023, glibc 2.34
    assert "manylinux_2_34_aarch64" in packaging.platform_tags("arm64", "3.13")
    with pytest.raises(packaging.InputError, match="no Lambda runtime"):
        packaging.build("aws", Path("unused"), python="3.11")  # Amazon Linux 2: too old a glibc for the lock


def test_unknown_cloud_and_architecture_are_refused(tmp_path: Path):
    with pytest.raises(packaging.InputError, match="unknown cloud"):
        packaging.build("ibm", tmp_path)
    with pytest.raises(packaging.InputError, match="unknown architecture"):
        packaging.build("aws", tmp_path, architectures=["sparc"])


def lambda_python() -> str:
    """An interpreter of the Lambda runtime the zips are built for (pyenv's, on these machines)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    version = packaging.LAMBDA_PYTHON
    for candidate in [
        shutil.which(f"python{version}"),
        *map(str, sorted(root.glob(f"versions/{version}*/bin/python{version}"))),
    ]:
        if candidate is None:
            continue
        done = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.stdout.strip() == version:
            return candidate
    pytest.fail(f"no Python {version} to run the Lambda zip with (looked on PATH and in {root}/versions)")


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pip-cache")


@pytest.mark.slow
def test_aws_zips_for_both_architectures(
    tmp_path: Path, wheel_cache: Path, external: Path, aks_allocation: bytes, s3_env: Backend
):
    built = {a.path.name: a for a in packaging.build("aws", tmp_path, wheel_cache=wheel_cache)}
    assert set(built) == {"kubebill-aws-x86_64.zip", "kubebill-aws-arm64.zip"}
    for arch, machine in (("x86_64", "x86_64"), ("arm64", "aarch64")):
        artifact = built[f"kubebill-aws-{arch}.zip"]
        assert artifact.unzipped_bytes <= packaging.LAMBDA_LIMIT_BYTES
        print(f"{artifact.path.name}: {artifact.unzipped_bytes / 2**20:.1f} MB unzipped")
        with zipfile.ZipFile(artifact.path) as archive:
            names = set(archive.namelist())
            assert sum(i.file_size for i in archive.infolist()) == artifact.unzipped_bytes
        assert {"handler.py", "kubebill/__init__.py", "kubebill/pipeline.py", "boto3/__init__.py"} <= names
        assert f"pyarrow/lib.cpython-312-{machine}-linux-gnu.so" in names
        assert "duckdb/__init__.py" in names and any(n.startswith("_duckdb") and n.endswith(".so") for n in names)
        pins = packaging.locked(packaging.source_root())
        for pinned in ("pyarrow", "duckdb", "numpy"):  # the versions CI tested, not whatever the platform tags allowed
            assert f"{pinned}-{pins[pinned]}.dist-info/METADATA" in names
        assert not any(n.startswith(("pandas/", "kubebill/devtools/")) for n in names)
        assert not any("__pycache__" in n for n in names)

    # The x86_64 zip runs here: with no site-packages at all (only the zip's boto3, pruned botocore, pyarrow,
    # duckdb, numpy), merge a real allocation and bill on S3 (moto) through handler.merge_handler.
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(built["kubebill-aws-x86_64.zip"].path) as archive:
        archive.extractall(unpacked)
    allocation = "allocations/cluster=aks-demo/year=2025/month=06/day=17/aks.parquet"
    s3_env.store.write(allocation, aks_allocation)
    s3_env.store.write("billing/azure/export.csv", (external / "aks" / "cost-management-export.csv").read_bytes())
    bucket, root = urlparse(s3_env.url).netloc, urlparse(s3_env.url).path.strip("/")
    event = json.loads((Path(__file__).parents[1] / "events" / "s3-object-created.json").read_text())
    event["Records"][0]["s3"]["bucket"]["name"] = bucket
    out = _run(
        "import json, os\n"
        f"os.environ['KUBEBILL_STORE'] = {s3_env.url!r}\n"
        "import handler\n"
        f"event = {event!r}\n"
        f"for key in {[quote_plus(f'{root}/{k}', safe='/') for k in (allocation, 'billing/azure/export.csv')]!r}:\n"
        "    event['Records'][0]['s3']['object']['key'] = key\n"
        "    print(json.dumps(handler.merge_handler(event, None)['events'][0]))\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'numpy') if m in __import__('sys').modules)))",
        unpacked,
        isolated=True,
        python=lambda_python(),
    )
    *handled, loaded = [json.loads(line) for line in out.strip().splitlines() if line.startswith(("{", "["))][-3:]
    assert [h["decision"] for h in handled] == ["merged", "merged"], handled
    assert "pandas" not in loaded
    assert s3_env.store.head("results/parquet/year=2025/month=06/day=17/result.parquet").size > 0


def test_spark_job_entry_runs_a_spark_merge_with_the_job_arguments():
    from tests.functions.clouds import load_module

    job = load_module(packaging.source_root() / "functions" / "spark" / "kubebill_spark_job.py", "kubebill_spark_job")
    assert job.command(["--store", "s3://b/p"]) == ["merge", "--engine", "spark", "--store", "s3://b/p"]


def test_spark_requirements_are_pinned_and_leave_spark_to_the_service():
    root = packaging.source_root()
    names = {packaging._name(r) for r in spark_job.requirements(root)}
    assert {"pyarrow", "duckdb", "boto3", "azure-storage-blob", "google-cloud-storage"} <= names
    assert not names & {"pyspark", "py4j", "pandas"}
    with pytest.raises(packaging.InputError, match="not one the Spark services run"):
        spark_job.build(Path("unused"), python="3.10")
    with pytest.raises(SystemExit):
        main(["package", "--cloud", "aws", "--target", "spark", "--out", "unused"])


@pytest.mark.slow
def test_spark_job_artifact(tmp_path: Path, wheel_cache: Path):
    built = spark_job.build(tmp_path, wheel_cache=wheel_cache)
    folder = tmp_path / "spark"
    assert [a.path for a in built] == [folder, folder / "kubebill-spark-deps-x86_64.tar.gz"]
    (wheel,) = folder.glob("kubebill-*-py3-none-any.whl")
    assert {p.name for p in folder.iterdir()} == {
        wheel.name,
        "kubebill_spark_job.py",
        "requirements.txt",
        "constraints.txt",
        "kubebill-spark-deps-x86_64.tar.gz",
    }
    print(f"deps archive: {built[1].unzipped_bytes / 2**20:.1f} MB unpacked, {built[1].zipped_bytes / 2**20:.1f} MB")

    # the wheel installs into a fresh venv of the services' Python, with the kubebill command
    python = lambda_python()
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)
    assert (venv / "bin" / "kubebill").is_file()

    # the archive holds everything the entry script imports: with no site-packages at all, only ./deps
    deps = tmp_path / "deps"
    with tarfile.open(folder / "kubebill-spark-deps-x86_64.tar.gz") as archive:
        assert all(m.mtime == 0 and m.uid == 0 for m in archive.getmembers())
        archive.extractall(deps, filter="data")
    out = _run(
        "import kubebill, kubebill.pipeline, kubebill.store.s3, kubebill.store.azure_blob, kubebill.store.gcs, duckdb\n"
        "import kubebill_spark_job\n"
        f"assert kubebill.__file__.startswith({str(deps)!r}), kubebill.__file__\n"
        "print(kubebill_spark_job.command(['--store', 'gs://b']))",
        deps,
        folder,
        isolated=True,
        python=python,
    )
    assert "'merge', '--engine', 'spark', '--store', 'gs://b'" in out
    done = subprocess.run(
        [python, "-S", str(folder / "kubebill_spark_job.py"), "--help"],
        env={"PYTHONPATH": str(deps), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "usage: kubebill merge" in done.stdout, done.stderr
