"""Model cards as HTML: CommonMark with tables, raw HTML switched off.

markdown-it escapes any HTML in the card (a ``<script>`` shows as text) and refuses
``javascript:``, ``vbscript:``, ``file:`` and non-image ``data:`` links, so a hostile card
renders as harmless text; the page's Content-Security-Policy is the second wall.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

__all__ = ["render_card"]

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_MD.enable("table")
_MAX_CARD = 200_000


def render_card(text: str) -> Markup:
    """Safe HTML for a card (cut at 200,000 characters)."""
    html = _MD.render(text[:_MAX_CARD])
    return Markup(html.replace("<img ", '<img loading="lazy" referrerpolicy="no-referrer" '))
