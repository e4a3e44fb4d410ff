"""End to end: `monitor poll` through the CLI against a real HTTP server on 127.0.0.1, a real
SQLite file and a real corpus directory seeded with the seed stories."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tests.conftest import DATA, article_page, rss, run_cli, write_config

STORIES = json.loads((DATA / "stories.json").read_text(encoding="utf-8"))
NAME_RE = re.compile(r"^\d{3,}_[0-9a-f]{16}\.txt$")


def serve_story(server, key: str, path: str, canonical: str | None = None) -> str:
    s = STORIES[key]
    return server.add(path, article_page(s["title"], s["paragraphs"], canonical),
                      content_type="text/html; charset=utf-8")


def item(server, key: str, path: str, link: str | None = None, **kw) -> dict:
    s = STORIES[key]
    return {"title": s["title"], "link": link or server.url(path),
            "description": s["paragraphs"][0][:160], **kw}


def new_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if NAME_RE.match(p.name)
                  and not p.name.startswith(("000_", "003_")))


def db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.row_factory = sqlite3.Row
    return conn


def test_poll_appends_on_topic_stories_as_clean_numbered_files(server, corpus, tmp_path):
    for key in ("treaty", "troops", "offtopic_sport", "nk_only"):
        serve_story(server, key, f"/news/{key}")
    feed = rss([item(server, k, f"/news/{k}") for k in ("treaty", "troops", "offtopic_sport",
                                                        "nk_only")])
    config = write_config(tmp_path, [server.add("/feed.xml", feed, etag='"v1"')])

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "2 new stories" in r.stdout and "2 off-topic" in r.stdout
    files = new_files(corpus)
    # seeds are 000 and 003: the next number is 004, then 005
    assert [f.name[:4] for f in files] == ["004_", "005_"]
    texts = {f.read_text(encoding="utf-8").split("\n")[0]: f.read_text(encoding="utf-8")
             for f in files}
    assert set(texts) == {STORIES["treaty"]["title"], STORIES["troops"]["title"]}
    body = texts[STORIES["treaty"]["title"]]
    assert body.split("\n")[1:] == STORIES["treaty"]["paragraphs"]
    for junk in ("cookie", "Share on", "Related stories", "Your support", "First!", "Home",
                 "All rights reserved"):
        assert junk not in body
    assert not body.endswith("\n")
    # the page of an entry that names neither side is never fetched; one side only is fetched
    assert server.count("/news/offtopic_sport") == 0
    assert server.count("/news/nk_only") == 1
    # the database knows each story, where its text came from and which terms matched
    rows = {r["title"]: r for r in db(tmp_path).execute("select * from stories")}
    treaty = rows[STORIES["treaty"]["title"]]
    assert treaty["status"] == "committed" and treaty["text_source"] == "page"
    terms = {m["term"] for m in json.loads(treaty["matched_terms"])["matches"]}
    assert {"Russia", "North Korea", "Pyongyang"} <= terms
    assert rows[STORIES["troops"]["title"]]["file_name"] in {f.name for f in files}


def test_second_poll_appends_nothing_and_is_answered_by_304(server, corpus, tmp_path):
    serve_story(server, "treaty", "/news/treaty")
    feeds = []
    for i in range(4):
        feeds.append(server.add(f"/feed{i}.xml", rss([item(server, "treaty", "/news/treaty")]),
                                etag=f'"e{i}"', last_modified="Tue, 24 Nov 2026 08:00:00 GMT"))
    config = write_config(tmp_path, feeds)
    assert run_cli(config, "poll").returncode == 0
    before = sorted(p.name for p in corpus.iterdir())

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "0 new stories" in r.stdout and "4 unchanged" in r.stdout
    assert sorted(p.name for p in corpus.iterdir()) == before
    second = [s for p, s in server.statuses if p.startswith("/feed")][4:]
    assert second == [304, 304, 304, 304]
    sent = [h for p, h in server.request_headers if p.startswith("/feed")][4:]
    assert all(h.get("If-None-Match", "").startswith('"e') for h in sent)


def test_a_warm_poll_of_many_feeds_records_every_feeds_304(server, corpus, tmp_path):
    """A 304's feed row is written in batches (pipeline.QUIET_BATCH = 200): with 250 feeds in
    one process, one batch is written during the poll and the rest when it ends; every row must
    show the second poll, and the one after it asks with the same validators."""
    feeds = [server.add(f"/q{i}.xml", rss([]), etag=f'"q{i}"') for i in range(250)]
    config = write_config(tmp_path, feeds, poll_processes=1)
    assert run_cli(config, "poll").returncode == 0
    assert {x[0] for x in db(tmp_path).execute("select last_status from feeds")} == {"ok"}

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "250 unchanged" in r.stdout
    rows = db(tmp_path).execute("select url, last_status, last_http_status, etag "
                                "from feeds").fetchall()
    assert len(rows) == 250
    assert {(x["last_status"], x["last_http_status"]) for x in rows} == {("not_modified", 304)}
    assert all(x["etag"] == f'"q{x["url"].rsplit("/q", 1)[1][:-4]}"' for x in rows)


def test_a_changed_feed_screens_only_its_new_entries(server, corpus, tmp_path, monkeypatch):
    """The topic check of a feed's entries runs once per entry: when a feed polled before
    changes, the entries it delivered then are not checked (nor their links canonicalized)
    again, only the new ones, and a new on-topic one is still kept. (In-process, workers: 0,
    so the check can be counted.)"""
    import asyncio

    from monitor import screen
    from monitor.app import App
    from monitor.config import load_config

    calls: list[str] = []
    real = screen.classify
    monkeypatch.setattr(screen, "classify", lambda entry, topic: calls.append(entry["title"])
                        or real(entry, topic))
    old = [{"title": f"Cup final {i} ends in a draw", "link": server.url(f"/sport/{i}"),
            "description": "Football."} for i in range(5)]
    url = server.add("/feed.xml", rss(old))
    config = write_config(tmp_path, [url], workers=0)
    with App(load_config(config)) as app:
        [first] = asyncio.run(app.poll())
        assert first.rejected == 5 and len(calls) == 5
        serve_story(server, "treaty", "/news/treaty")
        new = [item(server, "treaty", "/news/treaty"),
               {"title": "Cup final 9 goes to penalties", "link": server.url("/sport/9"),
                "description": "Football."}]
        server.add("/feed.xml", rss(new + old))
        calls.clear()
        [second] = asyncio.run(app.poll())
    assert second.seen == 5 and second.rejected == 1 and len(second.appended) == 1
    assert sorted(calls) == sorted([STORIES["treaty"]["title"], "Cup final 9 goes to penalties"])


def test_a_failed_write_of_unchanged_feeds_is_logged_and_loses_no_outcome(
        server, corpus, tmp_path, monkeypatch, caplog):
    """If the batched write of 304s fails (the database locked past its timeout), the poll
    still returns every feed's outcome and says what happened; those feeds keep their old
    row, so they are simply polled again."""
    import asyncio
    import sqlite3

    from monitor.app import App
    from monitor.config import load_config

    urls = [server.add(f"/u{i}.xml", rss([]), etag=f'"u{i}"') for i in range(3)]
    config = write_config(tmp_path, urls, workers=0)
    with App(load_config(config)) as app:
        asyncio.run(app.poll())

        def locked(updates):
            raise sqlite3.OperationalError("database is locked")
        monkeypatch.setattr(app.state, "update_feeds", locked)
        outcomes = asyncio.run(app.poll())
    assert [o.status for o in outcomes] == ["not_modified"] * 3
    assert "could not record 3 feeds' polls that found nothing new" in caplog.text
    rows = db(tmp_path).execute("select last_status from feeds").fetchall()
    assert [r[0] for r in rows] == ["ok"] * 3


def test_unchanged_body_without_validators_is_not_processed_again(server, corpus, tmp_path):
    serve_story(server, "treaty", "/news/treaty")
    config = write_config(tmp_path, [server.add("/feed.xml", rss([item(server, "treaty",
                                                                       "/news/treaty")]))])
    assert run_cli(config, "poll").returncode == 0
    r = run_cli(config, "poll")
    assert "1 unchanged" in r.stdout
    assert server.count("/news/treaty") == 1


def test_same_article_via_two_feeds_and_tracking_url_is_appended_once(server, corpus, tmp_path):
    serve_story(server, "troops", "/world/troops")
    plain = server.url("/world/troops")
    tracked = plain + "?utm_source=rss&utm_medium=feed&fbclid=abc"
    f1 = server.add("/a.xml", rss([item(server, "troops", "", link=plain)], title="Outlet A"))
    f2 = server.add("/b.xml", rss([item(server, "troops", "", link=tracked, guid="b-1")],
                                  title="Outlet B"))
    config = write_config(tmp_path, [f1, f2])

    r = run_cli(config, "poll")
    assert r.returncode == 0, r.stderr
    assert len(new_files(corpus)) == 1
    # a later poll bringing it once more, under yet another tracking URL, adds nothing
    server.add("/b.xml", rss([item(server, "troops", "", link=plain + "?gclid=zz#top",
                                   guid="b-2")], title="Outlet B"))
    r = run_cli(config, "poll")
    assert "0 new stories" in r.stdout and "1 duplicates" in r.stdout
    assert len(new_files(corpus)) == 1
    conn = db(tmp_path)
    sightings = conn.execute("select feed_id, url from sightings").fetchall()
    assert len({s["feed_id"] for s in sightings}) == 2     # both feeds recorded as delivering it
    assert len(sightings) == 3


def test_page_canonical_url_identifies_the_story(server, corpus, tmp_path):
    canonical = server.url("/story/bridge")
    serve_story(server, "bridge", "/amp/bridge", canonical=canonical)
    serve_story(server, "bridge", "/story/bridge", canonical=canonical)
    f1 = server.add("/a.xml", rss([item(server, "bridge", "/amp/bridge")]))
    config = write_config(tmp_path, [f1])
    assert run_cli(config, "poll").returncode == 0
    server.add("/b.xml", rss([item(server, "bridge", "/story/bridge")]))
    config = write_config(tmp_path, [f1, server.url("/b.xml")])
    r = run_cli(config, "poll")
    assert "1 duplicates" in r.stdout, r.stdout
    assert len(new_files(corpus)) == 1
    row = db(tmp_path).execute("select canonical_url from stories where text_source='page'").fetchone()
    assert row["canonical_url"] == canonical


def test_a_failing_feed_does_not_stop_the_others(server, corpus, tmp_path):
    serve_story(server, "treaty", "/news/treaty")
    good = server.add("/good.xml", rss([item(server, "treaty", "/news/treaty")]))
    bad = [server.add("/500.xml", "oops", status=500, content_type="text/plain"),
           server.add("/html.xml", "<!DOCTYPE html><html><body>Not a feed</body></html>",
                      content_type="text/html"),
           server.add("/png.xml", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="image/png"),
           server.add("/empty.xml", ""),
           server.url("/missing.xml"),
           "http://127.0.0.1:9/refused.xml"]
    config = write_config(tmp_path, bad[:3] + [good] + bad[3:])

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "1 new stories" in r.stdout and "6 failed" in r.stdout
    assert len(new_files(corpus)) == 1
    for url, why in zip(bad, ["HTTP 500", "HTML page", "PNG", "empty body", "HTTP 404",
                              "cannot connect"]):
        line = next(l for l in r.stderr.splitlines() if url in l)
        assert why in line, line
    feeds = run_cli(config, "feeds")
    assert feeds.returncode == 0
    assert sum(1 for l in feeds.stdout.splitlines() if l.startswith("failing")) == 6
    assert "HTTP 500" in feeds.stdout


def test_page_fetch_failure_falls_back_to_feed_text_and_records_it(server, corpus, tmp_path):
    long = " ".join(STORIES["bridge"]["paragraphs"])
    feed = rss([{"title": STORIES["bridge"]["title"], "link": server.url("/gone/bridge"),
                 "description": long}])
    config = write_config(tmp_path, [server.add("/feed.xml", feed)])
    r = run_cli(config, "poll")
    assert "1 new stories" in r.stdout, r.stdout + r.stderr
    (f,) = new_files(corpus)
    lines = f.read_text(encoding="utf-8").split("\n")
    assert lines[0] == STORIES["bridge"]["title"] and lines[1] == long
    row = db(tmp_path).execute("select text_source, text_note from stories "
                               "where file_name = ?", [f.name]).fetchone()
    assert row["text_source"] == "feed" and "404" in row["text_note"]


def test_permanent_redirect_updates_the_stored_feed_url(server, corpus, tmp_path):
    serve_story(server, "treaty", "/news/treaty")
    new = server.add("/new.xml", rss([item(server, "treaty", "/news/treaty")]), etag='"n"')
    old = server.add("/old.xml", status=301, headers={"Location": new})
    config = write_config(tmp_path, [old])
    assert run_cli(config, "poll").returncode == 0
    row = db(tmp_path).execute("select url, current_url from feeds").fetchone()
    assert row["url"] == old and row["current_url"] == new
    run_cli(config, "poll")
    assert server.count("/old.xml") == 1 and server.count("/new.xml") == 2


def test_retry_after_is_honoured(server, corpus, tmp_path):
    url = server.add("/busy.xml", "", status=429, headers={"Retry-After": "7200"})
    config = write_config(tmp_path, [url], interval="5m")
    r = run_cli(config, "poll")
    assert "HTTP 429" in r.stderr
    from datetime import datetime
    row = db(tmp_path).execute("select next_due, last_polled from feeds").fetchone()
    wait = datetime.fromisoformat(row["next_due"]) - datetime.fromisoformat(row["last_polled"])
    assert 7100 <= wait.total_seconds() <= 7300


def test_a_side_named_only_deep_in_the_page_still_keeps_the_story(server, corpus, tmp_path):
    """The entry names Russia only; its page names North Korea only in the body, split by inline
    markup. The page pre-check must not skip its extraction. A page naming no North Korea term
    anywhere is rejected."""
    filler = "<p>" + "The delegation also discussed grain, fuel and shipping schedules. " * 6 + "</p>"
    deep = ("<html><head><title>Putin signs decree on Far East ports</title></head><body>"
            "<article><h1>Putin signs decree on Far East ports</h1>" + filler
            + "<p>The decree covers the port of Rajin, leased to Moscow by <em>North</em> "
            "<b>Korea</b>, where Russian and North Korean officials met on Monday.</p>"
            + filler + "</article></body></html>")
    none = deep.replace("Rajin, leased to Moscow by <em>North</em> <b>Korea</b>, where Russian "
                        "and North Korean officials", "Ust-Luga, where Russian officials")
    assert "Korea" not in none and "Rajin" not in none
    server.add("/news/deep", deep, content_type="text/html; charset=utf-8")
    server.add("/news/none", none.replace("Far East ports", "Baltic ports"),
               content_type="text/html; charset=utf-8")
    feed = rss([{"title": "Putin signs decree on Far East ports", "link": server.url("/news/deep"),
                 "description": "The Kremlin published the decree on Monday."},
                {"title": "Putin signs decree on Baltic ports", "link": server.url("/news/none"),
                 "description": "The Kremlin published the decree on Monday."}])
    config = write_config(tmp_path, [server.add("/feed.xml", feed)])

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "1 new stories" in r.stdout and "1 off-topic" in r.stdout
    [f] = new_files(corpus)
    assert f.read_text(encoding="utf-8").startswith("Putin signs decree on Far East ports\n")
    assert server.count("/news/none") == 1
    row = db(tmp_path).execute("select decision, reason from entries where link like '%none'").fetchone()
    assert row["decision"] == "rejected" and "no North Korea term" in row["reason"]


def test_a_poll_of_many_feeds_parses_in_worker_processes_and_loses_nothing(server, corpus,
                                                                           tmp_path):
    """24 feeds (over workers.MIN_FEEDS): feeds and pages are parsed in 2 worker processes; every
    on-topic story is appended once, the off-topic ones are not, and a second poll adds none."""
    keys = [k for k in ("treaty", "troops", "offtopic_sport", "nk_only")]
    urls = []
    for i in range(24):
        items = []
        for k in keys:
            path = f"/news/{i}/{k}"
            s = STORIES[k]
            server.add(path, article_page(f"{s['title']} ({i})", s["paragraphs"] if i == 0 else
                                          [p + f" Report number {i}." for p in s["paragraphs"]]
                                          ), content_type="text/html; charset=utf-8")
            items.append(item(server, k, path, title=f"{s['title']} ({i})"))
        urls.append(server.add(f"/feed/{i}.xml", rss(items), etag=f'"f{i}"'))
    config = write_config(tmp_path, urls, workers=2)

    r = run_cli(config, "poll", "-v")

    assert r.returncode == 0, r.stderr
    assert "parsing feeds and pages in 2 worker processes" in r.stderr
    m = re.search(r"(\d+) new stories, (\d+) duplicates, (\d+) off-topic", r.stdout)
    assert m, r.stdout
    new, dups, off = map(int, m.groups())
    assert off == 48 and new + dups == 48 and new >= 2 and "0 failed" in r.stdout, r.stdout
    assert len(new_files(corpus)) == new
    again = run_cli(config, "poll")
    assert again.returncode == 0 and "0 new stories" in again.stdout
