"""Alert emails: ``email.message.EmailMessage``, plain text and HTML, inline PNG charts.

Safety rules, in order of importance:

- Nothing from a feed is ever rendered as HTML: every text goes through
  ``html.escape``; links are kept only when they are ``http(s)`` and are
  escaped inside the attribute.
- Nothing from a feed reaches a header unsanitised: ``clean_header`` drops
  every control, format and separator character (CR, LF, NUL, U+2028...)
  and the email policy folds and encodes what is left; the subject is cut
  to a sane length.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from alerts.series import Evidence

SUBJECT_PREFIX = "[tensionwatch] "
MAX_SUBJECT = 180


@dataclass(frozen=True)
class AlertView:
    """One alert as an email shows it."""

    rule: str
    subject: str
    why: tuple[str, ...]
    items: tuple[Evidence, ...]
    link: str | None
    chart_png: bytes | None = None


def clean_header(text: str, limit: int = MAX_SUBJECT) -> str:
    """One line of printable text: control/format/separator characters become spaces."""
    kept = "".join(
        " " if unicodedata.category(c)[0] in ("C", "Z") and c != " " else c for c in text
    )
    line = " ".join(kept.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def http_only(url: str | None) -> str | None:
    if (
        url
        and url.lower().startswith(("http://", "https://"))
        and not any(unicodedata.category(c)[0] in ("C", "Z") for c in url)
    ):
        return url
    return None


def subject_of(views: Sequence[AlertView]) -> str:
    if len(views) == 1:
        return clean_header(SUBJECT_PREFIX + views[0].subject)
    first = views[0].subject
    return clean_header(f"{SUBJECT_PREFIX}{len(views)} alerts held in quiet hours: {first} …")


def _item_text(item: Evidence) -> list[str]:
    outlets = f"{item.outlets} outlet{'s' if item.outlets != 1 else ''}"
    lines = [f"- {clean_header(item.title, 300)}", f"  {item.published}, {item.outlet}, {outlets}"]
    url = http_only(item.url)
    if url:
        lines.append(f"  {url}")
    if item.words:
        lines.append("  matched: " + ", ".join(clean_header(w, 80) for w in item.words))
    return lines


def render_text(views: Sequence[AlertView]) -> str:
    lines: list[str] = []
    for view in views:
        lines += [clean_header(view.subject), ""]
        lines += [f"Rule: {view.rule}", ""]
        lines += [*view.why, ""]
        if view.items:
            lines.append("Top items:")
            for item in view.items:
                lines += _item_text(item)
            lines.append("")
        if view.link:
            lines += [f"On the dashboard: {view.link}", ""]
    lines.append("-- tensionwatch")
    return "\n".join(lines) + "\n"


def _item_html(item: Evidence) -> str:
    e = html.escape
    title = e(clean_header(item.title, 300))
    url = http_only(item.url)
    linked = f'<a href="{e(url, quote=True)}">{title}</a>' if url else title
    outlets = f"{item.outlets} outlet{'s' if item.outlets != 1 else ''}"
    words = ""
    if item.words:
        words = "<br><small>matched: " + ", ".join(f"<b>{e(w)}</b>" for w in item.words)
        words += "</small>"
    return (
        f"<li>{linked}<br><small>{e(item.published)}, {e(item.outlet)}, {outlets}</small>"
        f"{words}</li>"
    )


def render_html(views: Sequence[AlertView], chart_cids: Sequence[str | None]) -> str:
    e = html.escape
    parts = ['<html><body style="font-family: sans-serif">']
    for view, cid in zip(views, chart_cids, strict=True):
        parts.append(f"<h2>{e(clean_header(view.subject))}</h2>")
        parts.append(f"<p>Rule: <code>{e(view.rule)}</code></p>")
        parts.append("".join(f"<p>{e(line)}</p>" for line in view.why))
        if cid:
            parts.append(f'<p><img src="cid:{e(cid, quote=True)}" alt="chart of the series"></p>')
        if view.items:
            parts.append("<h3>Top items</h3><ul>")
            parts += [_item_html(item) for item in view.items]
            parts.append("</ul>")
        link = http_only(view.link)
        if link:
            parts.append(f'<p><a href="{e(link, quote=True)}">Open on the dashboard</a></p>')
    parts.append("<p><small>tensionwatch</small></p></body></html>")
    return "\n".join(parts)


def build_message(
    views: Sequence[AlertView],
    *,
    mail_from: str,
    to: Sequence[str],
    now: datetime,
    message_id: str | None = None,
) -> EmailMessage:
    """The email for one alert, or for several held during quiet hours."""
    if not views:
        raise ValueError("an email needs at least one alert")
    domain = mail_from.rpartition("@")[2] or "localhost"
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject_of(views)
    msg["From"] = Address(addr_spec=mail_from)
    if to:
        msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id or make_msgid("alert", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    cids = [make_msgid("chart", domain=domain)[1:-1] if v.chart_png else None for v in views]
    msg.set_content(render_text(views))
    msg.add_alternative(render_html(views, cids), subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    for view, cid in zip(views, cids, strict=True):
        if view.chart_png and cid:
            html_part.add_related(
                view.chart_png, "image", "png", cid=f"<{cid}>", filename="chart.png",
                disposition="inline",
            )  # fmt: skip
    return msg
