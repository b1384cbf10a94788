"""`kubebill package`: the deployable function artifacts infra/ deploys, built from a source checkout.

- aws: `kubebill-aws-x86_64.zip` and `kubebill-aws-arm64.zip` — handler.py, kubebill/ and the
  dependencies as Linux wheels for the Lambda Python runtime (3.12 by default; `python` must match the
  function's runtime), each at most 250 MB unzipped.
- azure: `azure/` — function_app.py, host.json, requirements.txt, constraints.txt and kubebill/ (remote
  build installs).
- gcp: `gcp/` — main.py, requirements.txt, constraints.txt and kubebill/ (Cloud Build installs requirements.txt).

Every version comes from constraints.txt, the one lock generated from the tested environment (.ci/lock.py);
kubebill.devtools (this module, the simulator, the accuracy scoring) stays out of every artifact.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import kubebill
from kubebill import progress
from kubebill.errors import InputError

CLOUDS = ("aws", "azure", "gcp")
LAMBDA_LIMIT_BYTES = 250 * 1024 * 1024
# must match the function's runtime (infra var python_runtime); python3.11 runs on Amazon Linux 2 (glibc 2.26),
# which cannot load the locked pyarrow, duckdb and numpy (manylinux_2_28 wheels)
LAMBDA_PYTHONS = ("3.12", "3.13")
LAMBDA_PYTHON = LAMBDA_PYTHONS[0]  # the default, what infra's python_runtime defaults to
AWS_PLATFORMS = {"x86_64": "x86_64", "arm64": "aarch64"}
ENTRY = {"aws": ("handler.py",), "azure": ("function_app.py", "host.json"), "gcp": ("main.py",)}
# pandas is a user-facing convenience (DESIGN 6): no function's code path imports it.
LEFT_OUT = frozenset({"pandas"})
# Never needed at run time inside a function: C headers, Cython sources, test suites, bytecode.
_PRUNE_DIRS = frozenset({"__pycache__", "tests", "include"})
_PRUNE_SUFFIXES = (".pyc", ".pyx", ".pxd", ".pxi")
# Lambda's 250 MB is tight. Never loaded by kubebill: Arrow Flight (22 MB), pyarrow's S3 filesystem (17 MB:
# the store talks to S3 through boto3; pyarrow.fs imports it only if present) and its C++ tests; the wheel also
# ships each libarrow_python* twice more under the link names the loader never asks for (NEEDED: .so.<abi>).
_PRUNE_GLOBS = (
    "pyarrow/*flight*",
    "pyarrow/*s3fs*",
    "pyarrow/libarrow_s3.so*",
    "pyarrow/_pyarrow_cpp_tests*",
    "pyarrow/libarrow_python*.so",
    "pyarrow/libarrow_python*.so.*.*.*",
)
# botocore ships the API models of ~450 services (28 MB); the S3 store needs S3's, the credential chain STS/SSO's.
_BOTOCORE_SERVICES = frozenset({"s3", "sts", "sso", "sso-oidc"})
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)
LOCK = "constraints.txt"


@dataclass(frozen=True)
class Artifact:
    path: Path
    unzipped_bytes: int
    zipped_bytes: int | None = None


def _package_dir() -> Path:
    """The kubebill package folder, found from the package itself so this module can live anywhere inside it."""
    return Path(kubebill.__file__).resolve().parent


def source_root() -> Path:
    """The checkout holding core/kubebill, functions/ and pyproject.toml."""
    root = _package_dir().parents[1]
    if not (root / "functions").is_dir() or not (root / "pyproject.toml").is_file():
        raise InputError(f"kubebill package needs a source checkout: no functions/ and pyproject.toml in {root}")
    return root


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    return match.group(0).lower().replace("_", "-") if match else requirement


def locked(root: Path) -> dict[str, str]:
    """name -> version of every distribution in the lock."""
    path = root / LOCK
    if not path.is_file():
        raise InputError(f"no {LOCK} in {root}: generate it with .venv/bin/python .ci/lock.py")
    pins = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#")[0].strip()
        if not text:
            continue
        name, sep, version = text.partition("==")
        if not sep or not version:
            raise InputError(f"{path}:{number}: expected name==version, found {text!r}")
        pins[_name(name)] = version.strip()
    return pins


def requirements(cloud: str, root: Path) -> list[str]:
    """The function runtime's own requirements, then kubebill's dependencies and the cloud's extra, pinned from
    the lock."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runtime_file = root / "functions" / cloud / "requirements.txt"
    runtime = []
    if runtime_file.is_file():
        runtime = [line.strip() for line in runtime_file.read_text().splitlines() if line.strip()]
        runtime = [line for line in runtime if not line.startswith("#")]
    wanted = [*runtime, *project["dependencies"], *project["optional-dependencies"][cloud]]
    seen: set[str] = set()
    result = []
    for requirement in wanted:
        name = _name(requirement)
        if name in LEFT_OUT or name in seen:
            continue
        seen.add(name)
        result.append(name)
    pins = locked(root)
    missing = [name for name in result if name not in pins]
    if missing:
        raise InputError(f"{LOCK} has no pin for {', '.join(missing)}: regenerate it with .venv/bin/python .ci/lock.py")
    return [f"{name}=={pins[name]}" for name in result]


def _copy_core(dest: Path) -> None:
    shutil.copytree(
        _package_dir(), dest / "kubebill", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "devtools")
    )


def _source_folder(cloud: str, out: Path, root: Path) -> Artifact:
    folder = out / cloud
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in ENTRY[cloud]:
        shutil.copy2(root / "functions" / cloud / name, folder / name)
    # the lock also pins the transitive dependencies the platform's build resolves
    (folder / "requirements.txt").write_text("\n".join([f"-c {LOCK}", *requirements(cloud, root)]) + "\n")
    shutil.copy2(root / LOCK, folder / LOCK)
    _copy_core(folder)
    return Artifact(folder, _tree_bytes(folder))


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _prune(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in _PRUNE_DIRS and path.parent != folder:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.endswith(_PRUNE_SUFFIXES):
            path.unlink()
    for pattern in _PRUNE_GLOBS:
        for path in folder.glob(pattern):
            path.unlink()
    models = folder / "botocore" / "data"
    if models.is_dir():
        for service in models.iterdir():
            if service.is_dir() and service.name not in _BOTOCORE_SERVICES:
                shutil.rmtree(service)


def _files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*") if p.is_file())


def _zip(folder: Path, target: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps, permissions kept (Lambda needs +r)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files(folder):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = ((path.stat().st_mode & 0o777) | 0o444) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as src, archive.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)


def platform_tags(arch: str, python: str) -> list[str]:
    """Wheel platforms the Lambda runtime loads: 3.12+ run on Amazon Linux 2023 (glibc 2.34)."""
    machine = AWS_PLATFORMS[arch]
    return [f"manylinux2014_{machine}", f"manylinux_2_28_{machine}", f"manylinux_2_34_{machine}"]


def _pip_install(
    reqs: Iterable[str], platforms: list[str], python: str, target: Path, cache: Path | None, constraints: Path
) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *(flag for tag in platforms for flag in ("--platform", tag)),
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "--constraint",
        str(constraints),
        *reqs,
    ]
    env = dict(os.environ)
    if cache is not None:
        env["PIP_CACHE_DIR"] = str(cache)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip could not fetch Lambda wheels for {platforms}: {done.stderr.strip()[-2000:]}")


def _aws(out: Path, root: Path, *, cache: Path | None, architectures: Iterable[str], python: str) -> list[Artifact]:
    built = []
    for arch in architectures:
        bar = progress.Phase(f"package aws {arch}", 3)
        staging = out / f".aws-{arch}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        bar.tick("pip install of the Lambda wheels")
        _pip_install(requirements("aws", root), platform_tags(arch, python), python, staging, cache, root / LOCK)
        bar.tick("prune and copy the core")
        _prune(staging)
        shutil.copy2(root / "functions" / "aws" / "handler.py", staging / "handler.py")
        _copy_core(staging)
        unzipped = _tree_bytes(staging)
        if unzipped > LAMBDA_LIMIT_BYTES:
            raise InputError(f"the {arch} Lambda package is {unzipped / 2**20:.0f} MB unzipped; Lambda allows 250 MB")
        target = out / f"kubebill-aws-{arch}.zip"
        bar.tick("zip")
        _zip(staging, target)
        bar.close()
        shutil.rmtree(staging)
        built.append(Artifact(target, unzipped, target.stat().st_size))
    return built


def build(
    cloud: str,
    out: Path,
    *,
    wheel_cache: Path | None = None,
    architectures: Iterable[str] = tuple(AWS_PLATFORMS),
    python: str = LAMBDA_PYTHON,
) -> list[Artifact]:
    """Build the artifact(s) of `cloud` into `out` (created if absent); returns what was written."""
    if cloud not in CLOUDS:
        raise InputError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")
    unknown = set(architectures) - set(AWS_PLATFORMS)
    if unknown:
        raise InputError(f"unknown architecture {sorted(unknown)}; expected {', '.join(AWS_PLATFORMS)}")
    if python not in LAMBDA_PYTHONS:
        raise InputError(
            f"Python {python!r} has no Lambda runtime kubebill builds for; expected {', '.join(LAMBDA_PYTHONS)}"
        )
    root = source_root()
    out.mkdir(parents=True, exist_ok=True)
    if cloud == "aws":
        return _aws(out, root, cache=wheel_cache, architectures=architectures, python=python)
    return [_source_folder(cloud, out, root)]
