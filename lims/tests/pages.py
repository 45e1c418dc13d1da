"""What a reader sees of a rendered page, for the page tests of every app."""

from __future__ import annotations

import html as html_module
import re


def page_text(html: str) -> str:
    """The page's text without tags and with whitespace collapsed, as a reader sees it."""
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def form_labels(html: str, *, drop_colon: bool = False) -> list[str]:
    """The text of every <label>, whitespace collapsed (and a trailing colon dropped when asked)."""
    labels = [re.sub(r"\s+", " ", x).strip() for x in re.findall(r"<label[^>]*>(.*?)</label>", html, re.S)]
    return [x.rstrip(":") for x in labels] if drop_colon else labels
