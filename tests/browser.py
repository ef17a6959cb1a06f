"""Open an HTML report in real headless Chromium, offline, and say what it drew.

Used by the report tests (tests/test_report_html.py, tests/test_report.py) and by hand:

    python -m tests.browser reports/l2m-report.html [--screenshot first-screen.png]

Chromium (Debian package ``chromium``; ``make browser`` installs it) runs with the network
cut off (every host name resolves to nothing, and a dead proxy), ``--dump-dom`` after a virtual
time budget, and ``--enable-logging=stderr`` so every console message and uncaught error
appears as a ``CONSOLE`` line. ``inspect_report`` then counts, per chart container
(``.l2m-chart``), the drawn marks: elements inside Vega's ``role-mark`` groups (points, line
and area paths, rules, rects), excluding axes and legends. ``screenshot`` saves what a
1280×800 window shows first (``--screenshot``), the same browser and flags.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from l2m_analysis.errors import L2MError

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = "run `make browser` (installs the Debian package chromium)"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
MARK_ELEMENTS = {"path", "line", "rect", "circle", "text", "image"}


class BrowserMissing(L2MError):
    """No Chromium on this machine."""


def find_chromium() -> str:
    """The Chromium executable, or BrowserMissing with the install hint."""
    for c in CANDIDATES:
        found = c if os.path.isabs(c) and os.access(c, os.X_OK) else shutil.which(c)
        if found:
            return found
    raise BrowserMissing("Chromium is not installed (looked for /usr/bin/chromium)", INSTALL_HINT)


@dataclass
class ChartMarks:
    """One chart container in the dumped DOM."""

    id: str
    rendered: str | None
    svgs: int = 0
    canvases: int = 0
    marks: int = 0
    mark_groups: dict[str, int] = field(default_factory=dict)


@dataclass
class PageReport:
    """What the browser drew: the charts, the page's own error log, console lines."""

    charts: list[ChartMarks]
    page_errors: str
    console: list[str]
    done: bool
    dom: str
    stderr: str


class _DomScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, opens a chart, opens a mark group)
        self.charts: list[ChartMarks] = []
        self.current: ChartMarks | None = None
        self.mark_depth = 0
        self.mark_kind = ""
        self.errors = ""
        self.in_errors = False
        self.done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body" and a.get("data-l2m-done") == "true":
            self.done = True
        if tag == "pre" and a.get("id") == "l2m-errors":
            self.in_errors = True
        opens_chart = tag == "div" and "l2m-chart" in classes
        if opens_chart:
            self.current = ChartMarks(id=a.get("id") or "?", rendered=a.get("data-rendered"))
            self.charts.append(self.current)
        opens_marks = False
        if self.current is not None:
            if tag == "svg":
                self.current.svgs += 1
            if tag == "canvas":
                self.current.canvases += 1
            if tag == "g" and "role-mark" in classes:
                opens_marks = True
                self.mark_depth += 1
                self.mark_kind = next((c for c in classes if c.startswith("mark-")), "mark-?")
            elif self.mark_depth and tag in MARK_ELEMENTS:
                self.current.marks += 1
                groups = self.current.mark_groups
                groups[self.mark_kind] = groups.get(self.mark_kind, 0) + 1
        if tag not in VOID:
            self.stack.append((tag, opens_chart, opens_marks))

    def handle_endtag(self, tag):
        if tag == "pre":
            self.in_errors = False
        if tag in VOID or all(t != tag for t, _, _ in self.stack):
            return
        while self.stack:
            t, chart, marks = self.stack.pop()
            if marks:
                self.mark_depth -= 1
            if chart:
                self.current = None
            if t == tag:
                break

    def handle_data(self, data):
        if self.in_errors:
            self.errors += data


def inspect_dom(dom: str) -> tuple[list[ChartMarks], str, bool]:
    """(charts, text of #l2m-errors, body data-l2m-done) of a dumped DOM."""
    scan = _DomScan()
    scan.feed(dom)
    return scan.charts, scan.errors.strip(), scan.done


def _chromium(url: str, mode: list[str], budget_ms: int, size: str, timeout_s: float):
    """Run headless Chromium with the network cut off on ``url`` in ``mode`` (``--dump-dom`` or
    ``--screenshot=…``) after a virtual-time budget, in a ``size`` window."""
    with tempfile.TemporaryDirectory(prefix="l2m-chromium-") as profile:
        cmd = [
            find_chromium(),
            "--headless",
            "--no-sandbox",  # tests run as root in containers
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={size}",
            f"--virtual-time-budget={budget_ms}",
            *mode,
            url,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)


def open_in_chromium(
    path: str | Path, *, budget_ms: int = 15000, size: str = "1280,800", timeout_s: float = 120
) -> PageReport:
    """Load ``path`` in headless Chromium with the network off; dump the DOM and the console."""
    proc = _chromium(Path(path).resolve().as_uri(), ["--dump-dom"], budget_ms, size, timeout_s)
    if proc.returncode != 0 or "<html" not in proc.stdout.lower():
        raise L2MError(
            f"Chromium exited with status {proc.returncode} without a DOM: {proc.stderr[-2000:]}",
            "check that chromium runs headless here (`chromium --headless --dump-dom about:blank`)",
        )
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    charts, errors, done = inspect_dom(proc.stdout)
    return PageReport(charts, errors, console, done, proc.stdout, proc.stderr)


def screenshot(
    path: str | Path, png: str | Path, *, size: str = "1280,800", budget_ms: int = 15000
) -> Path:
    """Save what a ``size`` window shows first of ``path`` as the PNG ``png``."""
    png = Path(png).resolve()
    url = Path(path).resolve().as_uri()
    proc = _chromium(url, [f"--screenshot={png}"], budget_ms, size, 120)
    if proc.returncode != 0 or not png.is_file():
        raise L2MError(f"Chromium took no screenshot: {proc.stderr[-2000:]}", "see its stderr")
    return png


def main(argv: list[str] | None = None) -> int:
    """Print, per chart, whether it rendered and how many marks it drew."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--screenshot"):
        print("usage: python -m tests.browser REPORT.html [--screenshot PNG]", file=sys.stderr)
        return 2
    if len(args) == 3:
        print(f"first screen (1280×800): {screenshot(args[0], args[2])}")
    report = open_in_chromium(args[0])
    for c in report.charts:
        print(f"{c.id}: rendered={c.rendered} svg={c.svgs} marks={c.marks} {c.mark_groups}")
    print(f"page errors: {report.page_errors or 'none'}")
    print(f"console lines: {len(report.console)}")
    for line in report.console:
        print("  " + line)
    ok = report.done and not report.page_errors and not report.console
    ok = ok and all(c.rendered == "true" and c.marks > 0 for c in report.charts)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
