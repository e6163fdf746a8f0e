"""The reports as PDFs, printed by headless Chromium (Debian's ``chromium``).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3
carries commands in, fd 4 answers out, each message JSON ended by a NUL byte), so no port is
opened and no library beyond the standard one is needed. One browser prints every page of a
drop: a page is written to a private temporary folder, opened, and printed to A4 with the
report's title and period in the header and "Page n of N" in the footer of every page. The
pages' print CSS keeps charts and table rows whole and repeats table headers after a break.

Chromium was chosen over WeasyPrint for speed (a 30-page report prints in well under a second,
and the browser is already needed by the tests) and fidelity (the PDF is the page as a browser
draws it; WeasyPrint lays out long tables several times slower).
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import AtlasError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
A4 = (8.27, 11.69)  # inches
MISSING = (
    "PDFs not written: no headless Chromium found (install Debian's chromium: make browser); "
    "the HTML reports are written as usual"
)
# print-only rules added to each page before printing: room for the header and footer
PRINT_CSS = (
    b"<style>@page { size: A4 landscape; margin: 16mm 12mm 14mm; }"
    b" @media print { table { break-inside: auto; } thead { display: table-header-group; }"
    b" tr, figure, svg { break-inside: avoid; } }</style>"
)
HEADER = (
    '<div style="font: 8px Arial, sans-serif; width: 100%; margin: 0 12mm; color: #444;'
    ' display: flex; justify-content: space-between;"><span>{title}</span>'
    "<span>{period}</span></div>"
)
FOOTER = (
    '<div style="font: 8px Arial, sans-serif; width: 100%; margin: 0 12mm; color: #444;'
    ' text-align: right;">Page <span class="pageNumber"></span> of'
    ' <span class="totalPages"></span></div>'
)


QUIET_S = 120.0  # a browser silent this long while a page is being printed is taken as hung


class PdfError(AtlasError):
    """Chromium failed to print a page."""


def find_browser() -> str | None:
    """The headless browser used for PDFs (``IMS_ATLAS_CHROMIUM`` overrides; empty: none)."""
    if "IMS_ATLAS_CHROMIUM" in os.environ:
        return shutil.which(os.environ["IMS_ATLAS_CHROMIUM"]) or None
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def print_pdfs(
    pages: Mapping[str, tuple[bytes, str, str]],
    browser: str,
    when: str | None = None,
    tabs: int | None = None,
) -> dict[str, bytes]:
    """Print HTML pages to PDF: ``pages`` maps the PDF's path in the drop to the page's
    bytes, its title and its period (shown on every page). Returns path -> PDF bytes.
    ``when``: the time (ISO, UTC; ``SOURCE_DATE_EPOCH`` for a reproducible build) written as
    the PDFs' creation and modification dates; None: no dates, so that the same inputs give
    the same bytes. ``tabs``: pages printed at once (default: one more than the cores, so
    that a page is laid out while another is sent)."""
    jobs = iter(pages.items())
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="ims-atlas-pdf-") as tmp, _Chromium(browser) as cdp:
        loading: dict[str, tuple[str, str, str]] = {}  # session -> path, title, period
        loader: dict[str, str] = {}  # session -> loader id of its page's navigation
        loaded: dict[str, set[str]] = {}  # session -> loader ids whose page has loaded
        navigating: dict[int, str] = {}  # command id -> session
        printing: dict[int, tuple[str, str]] = {}  # command id -> session, path

        def start(session: str) -> None:
            job = next(jobs, None)
            if job is None:
                return
            path, (page, title, period) = job
            src = Path(tmp) / f"page{len(out) + len(loading)}.html"
            src.write_bytes(page.replace(b"</head>", PRINT_CSS + b"</head>", 1))
            loading[session] = (path, title, period)
            navigating[cdp.send("Page.navigate", {"url": src.as_uri()}, session)] = session

        def print_page(session: str) -> None:
            path, title, period = loading[session]
            params = {
                "paperWidth": A4[0],
                "paperHeight": A4[1],
                "landscape": True,
                "preferCSSPageSize": True,
                "printBackground": True,
                "displayHeaderFooter": True,
                "headerTemplate": HEADER.format(
                    title=html.escape(title), period=html.escape(period)
                ),
                "footerTemplate": FOOTER,
            }
            printing[cdp.send("Page.printToPDF", params, session)] = (session, path)

        wanted = (os.cpu_count() or 1) + 1 if tabs is None else tabs
        # every tab first: opening one waits for its answers, dropping other messages
        for session in [cdp.open_tab() for _ in range(max(1, min(wanted, len(pages))))]:
            start(session)
        while loading:
            msg = cdp.read()
            session = str(msg.get("sessionId", ""))
            if "error" in msg:
                raise PdfError(f"chromium: {msg['error'].get('message')}")
            if msg.get("id") in navigating:
                session = navigating.pop(msg["id"])
                loader[session] = msg["result"].get("loaderId", "")
                if loader[session] in loaded.get(session, ()):
                    print_page(session)
            elif msg.get("method") == "Page.lifecycleEvent" and msg["params"]["name"] == "load":
                loaded.setdefault(session, set()).add(msg["params"]["loaderId"])
                if session in loader and loader[session] == msg["params"]["loaderId"]:
                    print_page(session)
            elif msg.get("id") in printing:
                session, path = printing.pop(msg["id"])
                out[path] = _numbered(_dated(base64.b64decode(msg["result"]["data"]), when))
                del loading[session], loader[session]
                start(session)
    return {path: out[path] for path in pages}


_NODE = re.compile(rb"\(node(\d{8})\)")


def _numbered(pdf: bytes) -> bytes:
    """The tagged PDF's structure ids (``(node00001799)``: the browser's DOM node numbers,
    which depend on what else it has drawn) renumbered 1, 2, ... in their order, so that the
    same page gives the same bytes and the id tree stays sorted (same length: the
    cross-reference offsets stay right)."""
    ids = sorted({int(n) for n in _NODE.findall(pdf)})
    new = {n: i for i, n in enumerate(ids, 1)}
    return _NODE.sub(lambda m: b"(node%08d)" % new[int(m.group(1))], pdf)


_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]{0,7}\)")


def _dated(pdf: bytes, when: str | None) -> bytes:
    """The PDF with its dates set to ``when``, or left out (blanked) when None: the build
    time is in the manifest only. Same length: the cross-reference offsets stay right."""
    if when is None:
        return _DATE.sub(lambda m: b" " * len(m.group(0)), pdf)
    stamp = re.sub(r"\D", "", when)[:14].encode()

    def put(m: re.Match[bytes]) -> bytes:
        new = b"/" + m.group(1) + b" (D:" + stamp + b"Z"
        return new.ljust(len(m.group(0)) - 1) + b")"

    return _DATE.sub(put, pdf)


def print_reports(
    files: Mapping[str, bytes], browser: str, title: str, period: str, when: str | None = None
) -> dict[str, bytes]:
    """A PDF beside every report of the drop (``reports/**/<name>.html`` -> ``<name>.pdf``),
    each page headed with the report's title (its ``<h1>``) and the period."""
    pages = {}
    for path in sorted(files):
        if path.startswith("reports/") and path.endswith(".html"):
            heading = _heading(files[path]) or title
            pages[path[: -len(".html")] + ".pdf"] = (files[path], heading, period)
    return print_pdfs(pages, browser, when)


def _heading(page: bytes) -> str:
    start = page.find(b"<h1>")
    end = page.find(b"</h1>", start)
    if start < 0 or end < 0:
        return ""
    return html.unescape(page[start + 4 : end].decode("utf-8", "replace"))


# run as ``python -c _ON_FDS_3_4 R W BROWSER ARGS...``: fds R and W become 3 and 4, then exec
_ON_FDS_3_4 = (
    "import os, sys\n"
    "a, b = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))\n"
    "os.dup2(a, 3)\n"
    "os.dup2(b, 4)\n"
    "os.set_inheritable(3, True)\n"  # dup2 onto itself (a == 3) keeps dup's close-on-exec
    "os.set_inheritable(4, True)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


class _Chromium:
    """A headless Chromium spoken to over the DevTools pipe."""

    def __init__(self, binary: str):
        self.binary = binary
        self.next_id = 0
        self.buffer = b""

    def __enter__(self) -> _Chromium:
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        profile = tempfile.mkdtemp(prefix="ims-atlas-chromium-")
        self.profile = profile

        r, w = to_browser_r, from_browser_w
        # a small Python puts the pipe on fds 3 (commands in) and 4 (answers out), then runs
        # the browser: no pre-exec hook, so printing may run in a thread
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _ON_FDS_3_4,
                str(r),
                str(w),
                self.binary,
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(r, w),
        )
        os.close(r)
        os.close(w)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(PdfError, OSError):  # the browser may go before answering
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)

    def open_tab(self) -> str:
        """A new tab, attached, reporting its pages' lifecycle events: its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        sid = str(session["sessionId"])
        self.call("Page.enable", {}, sid)
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True}, sid)
        return sid

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        """Send a command; its id (the answer comes with it, read by :meth:`read`)."""
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self.to_browser, data) :]
        except BrokenPipeError:
            raise PdfError("chromium stopped before printing every PDF") from None
        return self.next_id

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send a command and wait for its answer (events read meanwhile are dropped)."""
        sent = self.send(method, params, session)
        while True:
            reply = self.read()
            if reply.get("id") == sent:
                if "error" in reply:
                    raise PdfError(f"chromium: {method} failed: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))

    def read(self) -> dict[str, Any]:
        """The next message from the browser (an answer or an event)."""
        for msg in self._messages():
            return msg
        raise PdfError("chromium stopped before printing every PDF")

    def _messages(self) -> Iterator[dict[str, Any]]:
        parts = [self.buffer]
        while True:
            chunk = parts[-1]
            end = chunk.find(b"\0")
            if end >= 0:
                msg = b"".join([*parts[:-1], chunk[:end]])
                self.buffer = chunk[end + 1 :]
                yield json.loads(msg)
                parts = [self.buffer]
                continue
            if not select.select([self.from_browser], [], [], QUIET_S)[0]:
                raise PdfError(f"chromium gave no answer in {QUIET_S:g} s: PDFs not printed")
            data = os.read(self.from_browser, 1 << 20)
            if not data:
                return
            parts.append(data)
