"""End to end on real feed documents from ../shared/fixtures/real, served from 127.0.0.1.

Item links are rewritten to point at the local server (`/ext/<host>/<path>`), which answers 404 for
them: the tests never reach the internet, and the pipeline has to fall back to the feed's text.
"""

from __future__ import annotations

import re
import sqlite3

from tests.conftest import REAL, needs_real, run_cli, write_config

pytestmark = needs_real
LINK = re.compile(rb"(<(?:link|guid)(?:\s[^>]*)?>\s*(?:<!\[CDATA\[)?\s*)https?://", re.IGNORECASE)


def localised(server, path: str) -> bytes:
    data = (REAL / path).read_bytes()
    return LINK.sub(lambda m: m.group(1) + server.url("/ext/").encode(), data)


def corpus_titles(corpus) -> dict[str, str]:
    out = {}
    for p in corpus.iterdir():
        if re.match(r"^\d{3,}_[0-9a-f]{16}\.txt$", p.name) and not p.name.startswith(("000", "003")):
            out[p.read_text(encoding="utf-8").split("\n")[0]] = p.name
    return out


def test_real_feeds_yield_the_on_topic_stories_once(server, corpus, tmp_path):
    feeds = []
    for name in ("feeds/dailymail_news_2020-05-06.xml", "feeds/economist_asia_2026-02-17.xml",
                 "feeds/reuters_worldnews_2018-01-30.xml", "feeds/dw_english_rdf_2026-02.xml",
                 "malformed/kagi_junk_after_root_cloudflare_script.xml",
                 "malformed/kagi_unescaped_ampersand_in_title.xml"):
        feeds.append(server.add("/" + name, localised(server, name),
                                content_type="application/rss+xml"))
    feeds.append(server.add("/json", (REAL / "malformed/kagi_jsonfeed_not_xml.json").read_bytes(),
                            content_type="application/json"))
    config = write_config(tmp_path, feeds)

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "1 failed" in r.stdout and "JSON" in r.stderr
    titles = corpus_titles(corpus)
    assert "Putin awards war medal to Kim marking victory over Nazi Germany" in titles
    assert "What North Korea gains by sending troops to fight for Russia" in titles
    conn = sqlite3.connect(tmp_path / "state.db")
    rows = conn.execute("select title, text_source, text_note from stories "
                        "where text_source != 'external'").fetchall()
    assert len(rows) == len(titles)
    # the article pages answer 404 here: the stories carry the feed's text, and say so
    assert all(src == "feed" and "404" in note for _, src, note in rows)
    # entries naming neither side were rejected without their pages being fetched
    rejected = conn.execute("select count(*) from entries where decision = 'rejected' "
                            "and reason = 'names neither side'").fetchone()[0]
    page_hits = sum(n for path, n in server.hits.items() if path.startswith("/ext/"))
    assert rejected > 400
    assert page_hits < 60

    again = run_cli(config, "poll")
    assert "0 new stories" in again.stdout
    assert corpus_titles(corpus) == titles
