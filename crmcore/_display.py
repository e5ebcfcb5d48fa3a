"""HTML building blocks for the Jupyter display (``_repr_html_``) of crmcore objects.

One small toolkit so that fitted models, segment maps, forecasts and SLA policies look alike
in a notebook: every text is escaped with :func:`html.escape`; numbers are formatted one way
(counts ``12,345``; money ``1,234.56`` with the currency when it is known; parameters and
probabilities to 4 significant digits); styles are inline and minimal and set no text colour,
so the output reads in light and dark Jupyter themes alike. Standard library only: importing
it costs nothing.

Examples
--------
>>> from crmcore._display import count, money, number, table
>>> count(23570.0), money(1234.5, "EUR"), number(0.24259), number(float("nan"))
('23,570', '1,234.50 EUR', '0.2426', 'NaN')
>>> html = table(["estimate"], [["r", "0.2426"]], index_header="parameter")
>>> html.startswith("<table"), ">0.2426</td>" in html
(True, True)
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "Cell",
    "block",
    "code_line",
    "count",
    "decimal",
    "escape",
    "facts",
    "money",
    "not_fitted",
    "number",
    "percent",
    "segment_colour",
    "table",
]

#: Marker placed next to a NaN standard error; the footnote starting with it says why.
NAN_MARK = "*"

_BLOCK_STYLE = "font-size:0.95em;line-height:1.35;margin:0.2em 0"
_TABLE_STYLE = (
    "border-collapse:collapse;margin:0.35em 0;font-variant-numeric:tabular-nums;"
    "border-top:1px solid rgba(128,128,128,0.6);border-bottom:1px solid rgba(128,128,128,0.6)"
)
_CELL_STYLE = "padding:0.15em 0.7em;border-bottom:1px solid rgba(128,128,128,0.25)"
_HEAD_STYLE = _CELL_STYLE + ";font-weight:bold;border-bottom:1px solid rgba(128,128,128,0.6)"
_NOTE_STYLE = "font-size:0.9em;margin:0.25em 0;opacity:0.85"
_WARN_STYLE = "margin:0.25em 0;padding:0.2em 0.5em;border-left:3px solid rgba(230,140,0,0.9)"


def escape(value: object) -> str:
    """``html.escape(str(value))``: quotes and ``<``, ``>``, ``&`` made harmless."""
    return html.escape(str(value), quote=True)


def _special(value: float) -> str | None:
    """Text for NaN and infinities, None for a finite number."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None


def count(value: float) -> str:
    """A count with thousands separators: ``23,570``; a fractional (weighted) count keeps
    six significant digits (``1,234.5``).

    Examples
    --------
    >>> count(23570), count(1234.5), count(float("nan"))
    ('23,570', '1,234.5', 'NaN')
    """
    number_ = float(value)
    special = _special(number_)
    if special is not None:
        return special
    if number_ == round(number_) and abs(number_) < 2.0**53:
        return f"{round(number_):,}"
    return f"{number_:,.6g}"


def money(value: float, currency: str | None = None) -> str:
    """An amount with thousands separators and two decimals, then the currency if known.

    Examples
    --------
    >>> money(1234.5), money(-0.256, "USD")
    ('1,234.50', '-0.26 USD')
    """
    number_ = float(value)
    text = _special(number_) or f"{number_:,.2f}"
    return f"{text} {currency}" if currency else text


def decimal(value: float, places: int = 2) -> str:
    """A number with thousands separators and a fixed number of decimals (log-likelihoods).

    Examples
    --------
    >>> decimal(-9582.4292), decimal(12.0, 1)
    ('-9,582.43', '12.0')
    """
    number_ = float(value)
    return _special(number_) or f"{number_:,.{places}f}"


def number(value: float) -> str:
    """A parameter or probability to 4 significant digits (``0.2426``, ``1.235e+04``).

    Examples
    --------
    >>> number(4.41353), number(12345.6), number(0.0)
    ('4.414', '1.235e+04', '0')
    """
    number_ = float(value)
    return _special(number_) or f"{number_:.4g}"


def percent(value: float) -> str:
    """A probability as a percentage with one decimal: ``43.8%``.

    Examples
    --------
    >>> percent(0.4375)
    '43.8%'
    """
    number_ = float(value)
    special = _special(number_)
    return special if special is not None else f"{100.0 * number_:.1f}%"


def segment_colour(index: int, n: int) -> str:
    """A translucent background for segment `index` of `n`: distinct hues that leave the
    (theme's) text colour readable on white and on dark backgrounds."""
    hue = round(360.0 * index / max(n, 1)) % 360
    return f"hsla({hue},70%,50%,0.30)"


class Cell(NamedTuple):
    """A table cell: its text (escaped when rendered) and optional decoration.

    Attributes
    ----------
    text : str
        The cell's text.
    mark : str
        A footnote marker shown after the text as a superscript (e.g. ``*``).
    background : str or None
        A CSS colour for the cell background (see :func:`segment_colour`).
    title : str or None
        A tooltip.
    align : str
        ``"right"`` (numbers, the default) or ``"left"``/``"center"``.
    italic : bool
        Show the text in italics (e.g. a default label).
    """

    text: str
    mark: str = ""
    background: str | None = None
    title: str | None = None
    align: str = "right"
    italic: bool = False


def _cell(value: str | Cell, tag: str) -> str:
    cell = value if isinstance(value, Cell) else Cell(str(value))
    style = f"{_CELL_STYLE};text-align:{cell.align}"
    if tag == "th":
        style = f"{_CELL_STYLE};text-align:left;font-weight:bold"
    if cell.background:
        style += f";background:{cell.background}"
    if cell.italic:
        style += ";font-style:italic"
    title = f' title="{escape(cell.title)}"' if cell.title else ""
    mark = f"<sup>{escape(cell.mark)}</sup>" if cell.mark else ""
    return f'<{tag} style="{style}"{title}>{escape(cell.text)}{mark}</{tag}>'


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str | Cell]],
    *,
    index_header: str = "",
    caption: str | None = None,
    header_align: str = "right",
) -> str:
    """An HTML table: each row starts with its label (a header cell), then one cell per column.

    Parameters
    ----------
    header : sequence of str
        Column titles (without the label column's title).
    rows : sequence of sequences of str or Cell
        ``[label, cell, cell, ...]`` per row; strings are escaped.
    index_header : str
        Title of the label column.
    caption : str, optional
        A caption above the table.
    header_align : str
        Alignment of the column titles (``"right"`` over numbers, ``"center"`` over grids).

    Returns
    -------
    str
        ``<table>...</table>``.
    """
    aligns = ["left"] + [header_align] * len(header)
    head_cells = "".join(
        f'<th style="{_HEAD_STYLE};text-align:{align}">{escape(h)}</th>'
        for align, h in zip(aligns, [index_header, *header], strict=True)
    )
    body = "".join(
        "<tr>" + _cell(row[0], "th") + "".join(_cell(value, "td") for value in row[1:]) + "</tr>"
        for row in rows
    )
    cap = (
        f'<caption style="text-align:left;font-weight:bold;padding:0.2em 0">'
        f"{escape(caption)}</caption>"
        if caption
        else ""
    )
    return (
        f'<table style="{_TABLE_STYLE}">{cap}<thead><tr>{head_cells}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def facts(pairs: Sequence[tuple[str, str]]) -> str:
    """A compact two-column table of ``(label, value)`` pairs (no header row)."""
    body = "".join(
        f'<tr><th style="{_CELL_STYLE};text-align:left;font-weight:normal;opacity:0.8">'
        f'{escape(label)}</th><td style="{_CELL_STYLE};text-align:left">{escape(value)}</td>'
        "</tr>"
        for label, value in pairs
    )
    return f'<table style="{_TABLE_STYLE}"><tbody>{body}</tbody></table>'


def block(
    title: str,
    *parts: str,
    notes: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> str:
    """The outer ``<div>``: a bold title (escaped), the parts (already HTML), then warnings
    and footnotes (escaped text, one paragraph each)."""
    warn = "".join(
        f'<p style="{_WARN_STYLE}"><strong>Warning:</strong> {escape(text)}</p>'
        for text in warnings
    )
    foot = "".join(f'<p style="{_NOTE_STYLE}">{escape(text)}</p>' for text in notes)
    return (
        f'<div style="{_BLOCK_STYLE}"><div><strong>{escape(title)}</strong></div>'
        + "".join(parts)
        + warn
        + foot
        + "</div>"
    )


def code_line(text: str) -> str:
    """The plain repr as one escaped ``<code>`` line."""
    return f'<div style="margin:0.1em 0"><code>{escape(text)}</code></div>'


def not_fitted(repr_text: str, how: str = "call fit(...) first") -> str:
    """The display of an unfitted estimator: its repr line and what to do.

    Examples
    --------
    >>> "This model is not fitted: call fit(...) first." in not_fitted("M() [not fitted]")
    True
    """
    return (
        f'<div style="{_BLOCK_STYLE}"><code>{escape(repr_text)}</code>'
        f'<p style="{_NOTE_STYLE}">This model is not fitted: {escape(how)}.</p></div>'
    )
