"""The text of a published PDF, so that the personal-data scan reads what a reader of the PDF
reads (the bytes of a PDF are compressed: a date of birth in one is never found as text)."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PyPdfError

logging.getLogger("pypdf").setLevel(logging.ERROR)  # font warnings are not the reader's


def pdf_text(data: bytes) -> bytes:
    """Every page's text, pages separated by a form feed, as UTF-8. A file that cannot be
    read as a PDF is returned as it is (scanned as bytes, as any other file)."""
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError):
        return data
    return "\n\f\n".join(pages).encode("utf-8")


def scannable(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` (path -> bytes) with every ``.pdf`` replaced by its text."""
    return {
        path: pdf_text(data) if path.endswith(".pdf") else data for path, data in files.items()
    }
