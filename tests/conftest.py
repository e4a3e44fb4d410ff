"""Shared fixtures: a real HTTP server on 127.0.0.1, a temp corpus seeded from ../shared/seeds
(or the repo's own copy), config writing, and running the real CLI in a subprocess."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import FeedServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# ../shared beside the checkout; MONITOR_SHARED points elsewhere (e.g. a clone in /tmp).
SHARED = Path(os.environ.get("MONITOR_SHARED") or ROOT.parent / "shared")
REAL = SHARED / "fixtures" / "real"
SEEDS = SHARED / "seeds" if (SHARED / "seeds").is_dir() else ROOT / "seeds"

needs_real = pytest.mark.skipif(not REAL.is_dir(),
                                reason="../shared/fixtures/real is not present on this machine")


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.stop()


@pytest.fixture
def corpus(tmp_path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, d / f.name)
    return d


def write_config(tmp_path: Path, feeds: list, **extra) -> Path:
    """A config in tmp_path with the given feeds (URLs or dicts); corpus at tmp_path/corpus."""
    import yaml

    cfg = {"corpus_dir": "corpus", "database": "state.db", "feeds": [
        f if isinstance(f, dict) else {"url": f} for f in feeds]}
    cfg.update(extra)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_cli(config: Path, *args: str, timeout: float = 120, env: dict | None = None):
    """Run `python -m monitor -c CONFIG ARGS...` for real; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config), *args],
        capture_output=True, text=True, timeout=timeout, cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def rss(items: list[dict], title: str = "Test Feed", link: str = "http://127.0.0.1/") -> str:
    """An RSS 2.0 document. Each item: title, link, guid (default link), description, pubDate."""
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           f"<title>{html.escape(title)}</title><link>{html.escape(link)}</link>"
           "<description>test</description>"]
    for it in items:
        out.append("<item>")
        out.append(f"<title>{html.escape(it['title'])}</title>")
        if it.get("link"):
            out.append(f"<link>{html.escape(it['link'])}</link>")
        guid = it.get("guid", it.get("link"))
        if guid:
            out.append(f'<guid isPermaLink="false">{html.escape(guid)}</guid>')
        if it.get("description"):
            out.append(f"<description>{html.escape(it['description'])}</description>")
        out.append(f"<pubDate>{it.get('pubDate', 'Tue, 24 Nov 2026 08:00:00 GMT')}</pubDate>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def article_page(title: str, paragraphs: list[str], canonical: str | None = None) -> str:
    """A realistic news page: navigation, cookie banner, share buttons, the article, related
    links, a donation appeal and comments. Only the title and paragraphs are the article."""
    canon = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | The Daily Test</title>{canon}
<meta property="og:title" content="{html.escape(title)}"></head><body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience.
Accept all cookies or manage your cookie settings.</p><button>Accept</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/asia">Asia</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article><h1>{html.escape(title)}</h1>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
{body}
</article>
<aside class="related"><h2>Related stories</h2><ul>
<li><a href="/a1">Celebrity chef opens restaurant in London</a></li>
<li><a href="/a2">Stock markets close higher on tech rally</a></li></ul></aside>
<div class="donate"><p>Your support helps us to tell the story. Make a contribution today.</p></div>
<section id="comments"><h2>Comments</h2><div class="comment"><p>First! Great article.</p></div>
</section></main>
<footer><p>Copyright 2026 The Daily Test. All rights reserved.</p></footer></body></html>"""
