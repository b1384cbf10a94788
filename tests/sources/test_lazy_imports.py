"""The CLI's command modules load duckdb, pandas and the sinks only when their command runs; pandas is an extra."""

from __future__ import annotations

import subprocess
import sys

from kubebill.commands import report, simulate
from kubebill.devtools.simulate import model
from kubebill.sinks import report as report_sink
from tests.conftest import ROOT

_COMMANDS = ("demo", "export", "run", "merge", "handle", "metrics", "report", "simulate", "package")


def test_command_modules_do_not_import_duckdb_or_pandas() -> None:
    code = (
        "import sys\n"
        f"for name in {_COMMANDS!r}:\n"
        "    __import__('kubebill.commands.' + name)\n"
        "print(sorted(m for m in ('duckdb', 'pandas', 'pyarrow.dataset') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_pandas_is_an_extra_not_a_base_dependency() -> None:
    """Once installed, pandas is imported by pyarrow's first pa.array() of Python values: 55 MB, 0.2 s a process."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [r for r in project["dependencies"] if r.replace("_", "-").lower().startswith("pandas")]
    assert project["optional-dependencies"]["pandas"] == ["pandas>=2.2.2"]


def test_choices_copied_into_the_commands_match_their_modules() -> None:
    assert report.FORMATS == report_sink.FORMATS
    assert simulate.PROVIDERS == model.PROVIDERS
