"""Regenerates docs/report.png, the README's picture of the HTML report: the demo's store, reported by
cluster and namespace over every merged day, screenshotted in headless Chromium (Debian `chromium`).

Run: `.venv/bin/python docs/screenshot.py` (about 30 s; nothing leaves 127.0.0.1).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "report.png"
SIZE = "1280,2200"


def main() -> int:
    from kubebill.cli import main as kubebill
    from kubebill.layout import Layout
    from kubebill.sinks.results import available_days
    from kubebill.store import LocalStore

    browser = shutil.which("chromium")
    if browser is None:
        print("the Debian package chromium is missing", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="kubebill-shot-") as folder:
        out = Path(folder)
        if kubebill(["demo", "--out", str(out / "demo")]) != 0:
            return 1
        days = available_days(LocalStore(out / "demo" / "store"), Layout())
        page = out / "report.html"
        code = kubebill(
            ["report", "--store", str(out / "demo" / "store"), "--from", str(days[0]), "--to", str(days[-1]),
             "--by", "cluster,namespace", "--format", "html", "--out", str(page)]
        )  # fmt: skip
        if code != 0:
            return code
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={out / 'profile'}", f"--window-size={SIZE}", f"--screenshot={TARGET}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    print(TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
