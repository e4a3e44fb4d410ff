"""Jinja2 only: a Digest → plain text, HTML, and the multipart email that carries both.

Templates live in `monitor/templates/`. The HTML template is auto-escaped (a story title is data,
never markup) and links are only ever http(s): a `javascript:` or `data:` link from a feed is never
made clickable (the HTML leaves it out; the text form prints it as text). The HTML has inline styles (mail clients drop <link> and most <style>),
no remote images or scripts, a light and a dark scheme, and one narrow column for phones.
"""

from __future__ import annotations

import unicodedata
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined

from monitor.digest import Digest

LANGUAGES = {"en": "English", "ru": "Russian", "ko": "Korean"}


def safe_url(url: str | None) -> str | None:
    """A link we are willing to make clickable: absolute http(s) only."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.hostname else None


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Wrap at spaces by display width (a Hangul syllable takes two columns in a monospace mail
    client); a word longer than the line is left whole."""
    lines, line, used = [], "", 0
    for word in text.split():
        w = sum(_width(c) for c in word)
        if line and used + 1 + w > width:
            lines.append(line)
            line, used = word, w
        else:
            line, used = (f"{line} {word}", used + 1 + w) if line else (word, w)
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("monitor", "templates"),
                      autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["safe_url"] = safe_url
    env.filters["one_line"] = _one_line
    env.filters["wrap"] = wrap
    env.filters["language"] = lambda code: LANGUAGES.get(code, code)
    return env


_ENV = None


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def _context(digest: Digest) -> dict:
    tz = digest.tz

    def local(dt):
        dt = dt.astimezone(tz)
        return f"{dt:%a} {dt.day} {dt:%b %H:%M}"

    return {"d": digest, "local": local, "tzname": digest.local_end.tzname()}


def render_text(digest: Digest) -> str:
    return _env().get_template("digest.txt.j2").render(_context(digest))


def render_html(digest: Digest) -> str:
    return _env().get_template("digest.html.j2").render(_context(digest))


def message(digest: Digest, sender: str, to: tuple[str, ...], now) -> EmailMessage:
    """The multipart/alternative email: text first, HTML second (clients show the last they can)."""
    msg = EmailMessage()
    domain = sender.rsplit("@", 1)[-1]
    msg["Subject"] = digest.subject
    msg["From"] = formataddr((f"{digest.title} monitor", sender))
    msg["To"] = ", ".join(to) if to else sender
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<digest.{digest.key}@{domain}>"
    msg["List-Id"] = f"{digest.title} digest <digest.monitor.{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "bulk"
    msg.set_content(render_text(digest), charset="utf-8")
    msg.add_alternative(render_html(digest), subtype="html", charset="utf-8")
    return msg
