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
import shutil
import subprocess
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


class PdfError(AtlasError):
    """Chromium failed to print a page."""


def find_browser() -> str | None:
    """The headless browser used for PDFs (``IMS_ATLAS_CHROMIUM`` overrides; empty: none)."""
    if "IMS_ATLAS_CHROMIUM" in os.environ:
        return shutil.which(os.environ["IMS_ATLAS_CHROMIUM"]) or None
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def print_pdfs(
    pages: Mapping[str, tuple[bytes, str, str]], browser: str, when: str | None = None
) -> dict[str, bytes]:
    """Print HTML pages to PDF: ``pages`` maps the PDF's path in the drop to the page's
    bytes, its title and its period (shown on every page). Returns path -> PDF bytes.
    ``when``: the time (ISO, UTC; ``SOURCE_DATE_EPOCH`` for a reproducible build) written as
    the PDFs' creation and modification dates; None: no dates, so that the same inputs give
    the same bytes."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="ims-atlas-pdf-") as tmp, _Chromium(browser) as cdp:
        session = cdp.open_tab()
        for i, (path, (page, title, period)) in enumerate(pages.items()):
            src = Path(tmp) / f"page{i}.html"
            src.write_bytes(page.replace(b"</head>", PRINT_CSS + b"</head>", 1))
            cdp.call("Page.navigate", {"url": src.as_uri()}, session)
            cdp.wait_event("Page.loadEventFired", session)
            result = cdp.call(
                "Page.printToPDF",
                {
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
                },
                session,
            )
            out[path] = _dated(base64.b64decode(result["data"]), when)
    return out


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


class _Chromium:
    """A headless Chromium spoken to over the DevTools pipe."""

    def __init__(self, binary: str):
        self.binary = binary
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> _Chromium:
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        profile = tempfile.mkdtemp(prefix="ims-atlas-chromium-")
        self.profile = profile

        def fds() -> None:  # in the child: fd 3 reads commands, fd 4 writes answers
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
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
            pass_fds=(3, 4, to_browser_r, from_browser_w),  # 3, 4: set by fds()
            preexec_fn=fds,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
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
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        sid = str(session["sessionId"])
        self.call("Page.enable", {}, sid)
        return sid

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.to_browser, data) :]
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise PdfError(f"chromium: {method} failed: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, session: str) -> None:
        for i, ev in enumerate(self.events):
            if ev["method"] == method and ev.get("sessionId") == session:
                del self.events[: i + 1]
                return
        self.events.clear()
        while True:
            ev = self._read()
            if ev.get("method") == method and ev.get("sessionId") == session:
                return

    def _read(self) -> dict[str, Any]:
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
            data = os.read(self.from_browser, 1 << 20)
            if not data:
                return
            parts.append(data)
