"""A browser that hangs or dies gives one clean error (PdfError), never a build that waits
for ever or a traceback."""

from __future__ import annotations

import stat

import pytest

from atlas.render import pdf
from atlas.render.pdf import PdfError, print_pdfs

PAGE = {"reports/monitoring.pdf": (b"<html><head></head><body>x</body></html>", "T", "P")}


def _fake(tmp_path, body: str) -> str:
    script = tmp_path / "fake-chromium"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_silent_browser_is_given_up_on(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "QUIET_S", 0.5)
    with pytest.raises(PdfError, match=r"^chromium gave no answer in 0.5 s"):
        print_pdfs(PAGE, _fake(tmp_path, "exec sleep 30"))


def test_a_browser_that_exits_gives_one_line(tmp_path):
    with pytest.raises(PdfError, match=r"^chromium stopped before printing every PDF$"):
        print_pdfs(PAGE, _fake(tmp_path, "exit 1"))
