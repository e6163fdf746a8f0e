"""The text of a published PDF, so that the personal-data scan reads what a reader of the PDF
reads (the bytes of a PDF are compressed: a date of birth in one is never found as text).

pypdf reads the document (pages, resources, fonts, streams). Its own ``extract_text`` parses
every operator of a page in Python, about 0.4 s for a report page with charts, far too slow
for the hundreds of pages of a drop's packs; so the text-showing operators (``Tj``, ``TJ``)
are picked out of each page's content with a regular expression and decoded with their font's
``ToUnicode`` map, one line per text object. A page whose text cannot be decoded so (a font
without that map, a literal string) is read by ``extract_text`` instead.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject

logging.getLogger("pypdf").setLevel(logging.ERROR)  # font warnings are not the reader's

_OPS = re.compile(
    rb"/([^\s/\[\]<>(){}%]+)\s+[-+\d.]+\s+Tf"  # a font chosen
    rb"|<([0-9A-Fa-f\s]*)>\s*Tj"  # a hex string shown
    rb"|\[([^\]]*)\]\s*TJ"  # an array of strings shown
    rb"|\((?:[^)\\]|\\.)*\)\s*(?:Tj|'|\")"  # a literal string shown: not decoded here
    rb"|\bET\b"  # the end of a text object
    rb"|/([^\s/\[\]<>(){}%]+)\s+Do\b"  # an XObject drawn (a form may hold text)
)
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])")


class _Undecodable(Exception):
    """Text this reader does not decode: the page is read by pypdf's ``extract_text``."""


def pdf_text(data: bytes) -> bytes:
    """Every page's text, pages separated by a form feed, as UTF-8. A file that cannot be
    read as a PDF is returned as it is (scanned as bytes, as any other file)."""
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = []
        fonts: dict[int, tuple[int, dict[int, str]]] = {}
        for page in reader.pages:
            try:
                pages.append(_page_text(page, fonts))
            except _Undecodable:
                pages.append(page.extract_text() or "")
    except (PyPdfError, ValueError, KeyError, TypeError):
        return data
    return "\n\f\n".join(pages).encode("utf-8")


def scannable(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` (path -> bytes) with every ``.pdf`` replaced by its text."""
    return {
        path: pdf_text(data) if path.endswith(".pdf") else data for path, data in files.items()
    }


def _page_text(page: Any, fonts: dict[int, tuple[int, dict[int, str]]]) -> str:
    contents = page.get_contents()
    if contents is None:
        return ""
    return _stream_text(contents.get_data(), page.get("/Resources"), fonts, depth=0)


def _stream_text(
    content: bytes,
    resources: Any,
    fonts: dict[int, tuple[int, dict[int, str]]],
    depth: int,
) -> str:
    resources = resources.get_object() if resources is not None else DictionaryObject()
    font_dict = resources.get("/Font")
    font_dict = font_dict.get_object() if font_dict is not None else {}
    lines: list[str] = []
    line: list[str] = []
    width, cmap = 1, dict[int, str]()
    for m in _OPS.finditer(content):
        name, hex_string, array, form = m.group(1), m.group(2), m.group(3), m.group(4)
        if name is not None:
            ref = font_dict.get("/" + name.decode("latin-1"))
            if ref is None:
                raise _Undecodable
            width, cmap = _font(ref, fonts)
        elif hex_string is not None:
            line.append(_decode(hex_string, width, cmap))
        elif array is not None:
            if b"(" in array:
                raise _Undecodable
            line.extend(_decode(h, width, cmap) for h in _HEX.findall(array))
        elif form is not None:
            lines.append(_form_text(resources, form, fonts, depth))
        elif m.group(0).startswith(b"("):
            raise _Undecodable
        else:  # ET
            lines.append("".join(line))
            line = []
    if line:
        lines.append("".join(line))
    return "\n".join(t for t in lines if t)


def _form_text(
    resources: Any, name: bytes, fonts: dict[int, tuple[int, dict[int, str]]], depth: int
) -> str:
    xobjects = resources.get("/XObject")
    if xobjects is None or depth > 8:
        return ""
    form = xobjects.get_object().get("/" + name.decode("latin-1"))
    if form is None:
        return ""
    form = form.get_object()
    if form.get("/Subtype") != "/Form":
        return ""
    return _stream_text(form.get_data(), form.get("/Resources", resources), fonts, depth + 1)


def _font(ref: Any, fonts: dict[int, tuple[int, dict[int, str]]]) -> tuple[int, dict[int, str]]:
    """(bytes per character code, code -> text) of a font, from its ToUnicode map."""
    key = id(ref.get_object()) if not hasattr(ref, "idnum") else ref.idnum
    if key in fonts:
        return fonts[key]
    font = ref.get_object()
    if "/ToUnicode" not in font:
        raise _Undecodable
    width = 2 if font.get("/Subtype") == "/Type0" else 1
    cmap_data = font["/ToUnicode"].get_object().get_data()
    cmap: dict[int, str] = {}
    for block in _BFCHAR.findall(cmap_data):
        for src, dst in _PAIR.findall(block):
            cmap[int(src, 16)] = _utf16(dst)
    for block in _BFRANGE.findall(cmap_data):
        for lo, hi, dst in _RANGE.findall(block):
            first, last = int(lo, 16), int(hi, 16)
            if dst.startswith(b"["):
                for code, d in zip(range(first, last + 1), _HEX.findall(dst)):
                    cmap[code] = _utf16(d)
            else:
                start = _utf16(dst[1:-1])
                base = ord(start[-1]) if start else 0
                for i, code in enumerate(range(first, last + 1)):
                    cmap[code] = start[:-1] + chr(base + i)
    fonts[key] = width, cmap
    return width, cmap


def _utf16(hex_text: bytes) -> str:
    raw = bytes.fromhex(hex_text.decode("ascii"))
    return raw.decode("utf-16-be", "replace")


def _decode(hex_text: bytes, width: int, cmap: dict[int, str]) -> str:
    raw = bytes.fromhex(re.sub(rb"\s", b"", hex_text).decode("ascii"))
    codes = [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]
    return "".join(cmap.get(c, "\ufffd") for c in codes)
