"""A recipe's Markdown text (``[reports] intro``) as safe HTML for the reports.

A small subset of CommonMark, rendered by markdown-it-py: paragraphs, line breaks, emphasis,
inline code, links (``[text](https://...)`` and ``<https://...>``) and lists. Everything else
is shown as the text it is: raw HTML is escaped, never passed through, headings and images stay
plain text, and links whose scheme is not http, https or mailto are not made links.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt
from markupsafe import Markup

SUBSET = ("list", "paragraph", "newline", "escape", "backticks", "emphasis", "link", "autolink")
_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False}).enable(list(SUBSET))
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    return md


def markdown_html(text: str) -> Markup:
    """``text`` (Markdown, the safe subset) as HTML; empty text gives empty markup."""
    if not text.strip():
        return Markup("")
    return Markup(_parser().render(text))
