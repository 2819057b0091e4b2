"""Safe-by-default HTML building: every value is escaped unless it is already ``Html``.

Texts in the report come from users of the model (prompts, outputs) and from the pipeline
(error causes), so nothing reaches the page unescaped by accident."""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

MISSING = "—"


class Html(str):
    """Markup that is already safe (built here, or escaped). Html + Html stays Html; Html + str
    is a plain str again, so it gets escaped where it is used."""

    def __add__(self, other: str) -> str:
        joined = str.__add__(self, other)
        return Html(joined) if isinstance(other, Html) else joined


def esc(value: Any) -> Html:
    """Escapes anything that is not ``Html``; None shows as a dash."""
    if isinstance(value, Html):
        return value
    return Html(MISSING if value is None else html.escape(str(value), quote=True))


def tag(name: str, *children: Any, **attributes: Any) -> Html:
    """``<name attr="...">children</name>``; ``class_`` is ``class``, None attributes are left out."""
    attrs = "".join(f' {k.rstrip("_").replace("_", "-")}="{html.escape(str(v), quote=True)}"'
                    for k, v in attributes.items() if v is not None)
    return Html(f"<{name}{attrs}>{''.join(esc(c) for c in children)}</{name}>")


def join(parts: Iterable[Any], separator: str = "") -> Html:
    return Html(separator.join(esc(p) for p in parts))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
          numeric: Sequence[int] = (), class_: str | None = None) -> Html:
    """A data table; ``numeric`` columns are right-aligned with tabular figures."""
    def cell(kind: str, i: int, value: Any) -> Html:
        return tag(kind, value, class_="num" if i in numeric else None, scope="col" if kind == "th" else None)

    head = tag("thead", tag("tr", *(cell("th", i, h) for i, h in enumerate(headers))))
    body = tag("tbody", *(tag("tr", *(cell("td", i, v) for i, v in enumerate(row))) for row in rows))
    return tag("div", tag("table", tag("caption", caption) if caption else Html(""), head, body, class_=class_),
               class_="table-wrap")


def badge(text: str, tone: str) -> Html:
    """A coloured label; the text carries the meaning, the colour only repeats it."""
    return tag("span", text, class_=f"badge {tone}")


def empty(message: str) -> Html:
    return tag("p", message, class_="empty")


# -- number and time formats ------------------------------------------------------------------
def num(value: Any, digits: int = 3) -> str:
    return MISSING if not isinstance(value, (int, float)) or isinstance(value, bool) else f"{value:.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    return MISSING if not isinstance(value, (int, float)) else f"{value:+.{digits}f}".replace("-", "−")


def pct(value: Any, digits: int = 1) -> str:
    return MISSING if not isinstance(value, (int, float)) else f"{value:.{digits}%}"


def pvalue(value: Any) -> str:
    return MISSING if not isinstance(value, (int, float)) else f"{value:.3g}"


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (``Z`` or an offset; naive means UTC), or None when it is not one."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: Any, *, zone: bool = True) -> str:
    """A stored time as ``2026-11-20 12:00 UTC`` (without the zone in tables whose header says
    UTC); unparseable values are shown as stored."""
    moment = parse_time(value)
    if moment is None:
        return MISSING if value in (None, "") else str(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M" + (" UTC" if zone else ""))
