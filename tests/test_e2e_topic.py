"""The topic end to end: a poll keeps Russian- and Korean-language stories and rejects the traps;
`monitor why` explains both; `monitor topic --replay` shows what a changed topic would do."""

from __future__ import annotations

import json
import sqlite3

import yaml

from tests.conftest import DATA, article_page, rss, run_cli, write_config

DIGEST_STORIES = json.loads((DATA / "digest_stories.json").read_text(encoding="utf-8"))

TRAPS = {
    "south_korea": ("South Korea and Japan agree to share missile warning data",
                    ["Seoul and Tokyo agreed on Monday to share real-time missile warning data, "
                     "officials said, after a series of launches from the North.",
                     "The defence ministers of South Korea and Japan met in Tokyo for the talks."]),
    "kardashian": ("Kim Kardashian wears a Russian doll dress to the Met Gala",
                   ["Kim Kardashian arrived at the gala in a dress printed with Russian dolls, "
                    "fans said on social media.",
                    "The reality star, whose family has Armenian roots, posed for photographers."]),
    "ukraine_only": ("Russia launches drone attack on Kyiv overnight",
                     ["Russia launched more than a hundred drones at Kyiv overnight, Ukrainian "
                      "officials said, damaging power lines in several districts.",
                      "Air defences shot down most of them, the air force said on Tuesday."]),
    "passing": ("Oil prices rise as markets weigh supply outlook",
                ["Oil prices rose on Tuesday as traders weighed the supply outlook for the winter "
                 "months and the strength of demand in Asia.",
                 "Analysts said sanctions on Russia continued to reshape trade flows of crude.",
                 "Shipping insurers reported higher premiums for tankers in the Gulf.",
                 "Separately, North Korea was mentioned in a regional security briefing."]),
}


def serve(server):
    items = []
    for key in ("ru_story", "ko_story", "bridge"):
        s = DIGEST_STORIES[key]
        server.add(f"/n/{key}", article_page(s["title"], s["paragraphs"]),
                   content_type="text/html; charset=utf-8")
        items.append({"title": s["title"], "link": server.url(f"/n/{key}"),
                      "description": s["paragraphs"][0][:150]})
    for key, (title, paragraphs) in TRAPS.items():
        server.add(f"/n/{key}", article_page(title, paragraphs),
                   content_type="text/html; charset=utf-8")
        # the passing mention's feed summary names Russia, so its page is fetched and scored
        summary = paragraphs[1] if key == "passing" else paragraphs[0]
        items.append({"title": title, "link": server.url(f"/n/{key}"),
                      "description": summary[:150]})
    return server.add("/feed.xml", rss(items))


def test_poll_keeps_russian_and_korean_stories_and_rejects_the_traps(server, corpus, tmp_path):
    config = write_config(tmp_path, [serve(server)])
    r = run_cli(config, "poll")
    assert r.returncode == 0, r.stderr
    assert "3 new stories" in r.stdout and "4 off-topic" in r.stdout, r.stdout
    titles = {p.read_text(encoding="utf-8").split("\n")[0]: p.name for p in corpus.iterdir()
              if not p.name.startswith(("000_", "003_"))}
    assert set(titles) == {DIGEST_STORIES[k]["title"] for k in ("ru_story", "ko_story", "bridge")}

    # why: a kept story, with its score and terms
    ko_file = titles[DIGEST_STORIES["ko_story"]["title"]]
    r = run_cli(config, "why", ko_file)
    assert r.returncode == 0, r.stderr
    assert f"{ko_file}: appended" in r.stdout and "score " in r.stdout
    assert "북러" in r.stdout or "북한" in r.stdout
    # why: a rejected candidate by its URL, with the reason
    r = run_cli(config, "why", server.url("/n/passing"), "--json")
    explained = json.loads(r.stdout)
    assert explained["decision"] == "rejected" and "passing mention" in explained["reason"]
    assert {m["side"] for m in explained["matches"]} == {"Russia", "North Korea"}
    r = run_cli(config, "why", server.url("/n/kardashian"))
    assert "rejected" in r.stdout and "names neither side" in r.stdout   # "Russian doll" is excluded
    # a seed file is scored now
    seed = next(p.name for p in corpus.iterdir() if p.name.startswith("000_"))
    r = run_cli(config, "why", seed)
    assert r.returncode == 0 and "scored now" in r.stdout, r.stdout + r.stderr
    # why --rejected lists all four, newest first
    rows = json.loads(run_cli(config, "why", "--rejected", "--json").stdout)
    assert {row["title"] for row in rows} == {t for t, _ in TRAPS.values()}
    assert run_cli(config, "why", "nothing-like-this.txt").returncode == 1


def test_topic_replay_shows_what_a_changed_topic_would_do_and_changes_nothing(server, corpus,
                                                                            tmp_path):
    config = write_config(tmp_path, [serve(server)])
    assert run_cli(config, "poll").returncode == 0
    before = sorted(p.name for p in corpus.iterdir())
    with sqlite3.connect(tmp_path / "state.db") as db:
        entries_before = db.execute("select * from entries order by key").fetchall()

    # a one-sided "Russia" topic: the Ukraine story would now be kept; the Korean story too
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["topic"] = {"name": "Russia", "sides": {"Russia": {"Russia": ["Russia", "Росси*",
                                                                     "러시아"]}}}
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = run_cli(config, "topic", "--replay")
    assert r.returncode == 0, r.stderr
    assert "topic: Russia" in r.stdout
    assert "would be kept now" in r.stdout and TRAPS["ukraine_only"][0] in r.stdout
    assert TRAPS["south_korea"][0] not in r.stdout
    assert "(nothing was changed)" in r.stdout
    assert sorted(p.name for p in corpus.iterdir()) == before
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("select * from entries order by key").fetchall() == entries_before


def test_stories_show_and_export_list_what_was_collected(server, corpus, tmp_path):
    import csv
    import io

    config = write_config(tmp_path, [serve(server)])
    assert run_cli(config, "poll").returncode == 0
    rows = json.loads(run_cli(config, "stories", "--json").stdout)
    assert len(rows) == 5                                   # 3 appended + the 2 seeds
    assert [r["number"] for r in rows] == sorted((r["number"] for r in rows), reverse=True)
    assert {r["language"] for r in rows} >= {"en", "ru", "ko"}
    ru = json.loads(run_cli(config, "stories", "--lang", "ru", "--json").stdout)
    assert [r["title"] for r in ru] == [DIGEST_STORIES["ru_story"]["title"]]
    assert len(json.loads(run_cli(config, "stories", "--limit", "2", "--json").stdout)) == 2
    assert run_cli(config, "stories", "--since", "not a date").returncode == 2

    ko = next(r for r in rows if r["title"] == DIGEST_STORIES["ko_story"]["title"])
    shown = run_cli(config, "show", ko["file_name"])
    assert shown.returncode == 0, shown.stderr
    assert DIGEST_STORIES["ko_story"]["paragraphs"][0] in shown.stdout
    assert "seen:" in shown.stdout and server.url("/n/ko_story") in shown.stdout
    item = json.loads(run_cli(config, "show", ko["id"], "--json").stdout)
    assert item["file_name"] == ko["file_name"] and item["evidence"]["keep"]
    assert run_cli(config, "show", "999_nothing.txt").returncode == 1

    lines = run_cli(config, "export", "--format", "jsonl").stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert len(exported) == 5 and all("text" in e and "title" in e for e in exported)
    out = tmp_path / "corpus.csv"
    assert run_cli(config, "export", "--format", "csv", "-o", str(out)).returncode == 0
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(table) == 5 and {t["file_name"] for t in table} == {e["file_name"] for e in exported}


def test_search_and_status(server, corpus, tmp_path):
    config = write_config(tmp_path, [serve(server)])
    assert run_cli(config, "poll").returncode == 0
    # Russian inflection and Korean particles: words match as prefixes
    hits = json.loads(run_cli(config, "search", "Владивосток выставка", "--json").stdout)
    assert [h["title"] for h in hits] == [DIGEST_STORIES["ru_story"]["title"]]
    assert "[" in hits[0]["snippet"]
    hits = json.loads(run_cli(config, "search", "보건 협정", "--json").stdout)
    assert [h["title"] for h in hits] == [DIGEST_STORIES["ko_story"]["title"]]
    r = run_cli(config, "search", "Tumen bridge")
    assert DIGEST_STORIES["bridge"]["title"] in r.stdout
    assert "nothing found" in run_cli(config, "search", "zzyzx").stdout
    assert json.loads(run_cli(config, "search", "\"", "--json").stdout) == []

    r = run_cli(config, "status")
    assert r.returncode == 0, r.stderr
    assert "corpus: 5 stories" in r.stdout and "3 added in the last 30 days" in r.stdout
    assert "feeds: 1 enabled — 1 ok, 0 failing" in r.stdout
    assert "next digest" in r.stdout and "3 stories waiting" in r.stdout


CONTEXT_FEED = {
    # kept: "the North" names North Korea in a story set in Korea
    "north": ("Seoul: the North has sent thousands more troops to Kursk",
              ["South Korea's spy agency said on Monday that the North had sent about 3,000 more "
               "soldiers to the Kursk region since January.",
               "The agency said the troops were replacing units that had suffered heavy losses."]),
    # rejected: Moscow, Idaho is not Russia, even written without "Idaho" beside it
    "idaho": ("University in Moscow hosts talk by a North Korean defector",
              ["The University of Idaho welcomed a North Korean defector on Tuesday for a talk "
               "about her escape.",
               "Students in Moscow packed the hall, organisers said."]),
    # rejected: a round-up that names both countries in unrelated items
    "roundup": ("Your Thursday Briefing: A truce in Tigray",
                ["Good morning. We're covering a truce in Ethiopia and the week's other news.",
                 "Plus North Korea fired a record number of missiles, and Russia rejoined the "
                 "Black Sea grain deal on Wednesday."]),
}


def test_poll_applies_context_conditions_and_round_ups_and_why_says_so(server, corpus, tmp_path):
    items = []
    for key, (title, paragraphs) in CONTEXT_FEED.items():
        server.add(f"/c/{key}", article_page(title, paragraphs),
                   content_type="text/html; charset=utf-8")
        items.append({"title": title, "link": server.url(f"/c/{key}"),
                      "description": paragraphs[-1 if key == "roundup" else 0][:160]})
    config = write_config(tmp_path, [server.add("/context.xml", rss(items))])
    r = run_cli(config, "poll")
    assert r.returncode == 0, r.stderr
    assert "1 new stories" in r.stdout and "2 off-topic" in r.stdout, r.stdout
    kept = [p for p in corpus.iterdir() if not p.name.startswith(("000_", "003_"))]
    assert [p.read_text(encoding="utf-8").split("\n")[0] for p in kept] == [CONTEXT_FEED["north"][0]]

    r = run_cli(config, "why", kept[0].name, "--json")
    assert {m["term"] for m in json.loads(r.stdout)["matches"]} >= {"the North", "Kursk"}
    r = run_cli(config, "why", server.url("/c/idaho"), "--json")
    explained = json.loads(r.stdout)
    assert explained["decision"] == "rejected" and "not counted here: Moscow" in explained["reason"]
    r = run_cli(config, "why", server.url("/c/roundup"), "--json")
    explained = json.loads(r.stdout)
    assert explained["decision"] == "rejected" and "round-up" in explained["reason"]


def test_a_page_two_feeds_share_is_read_again_for_the_side_the_second_entry_lacks(server, corpus,
                                                                                 tmp_path):
    """Feed A's entry names Russia and needs a North Korea term from the page; feed B's entry
    (same link) names North Korea and needs a Russia term. The page names only Russia: A is
    rejected without extraction, and B must still get the page's text (with its Russia terms),
    not A's "not extracted"."""
    page = server.add("/shared/story", article_page(
        "Grain exports rise",
        ["Moscow raised its grain export quota on Monday, the Russian agriculture ministry said.",
         "Traders expect shipments through Black Sea ports to grow in the spring, as farmers "
         "bring in a harvest that analysts expect to be among the largest of the decade.",
         "The quota applies to wheat, barley and maize and runs until the end of June, when the "
         "ministry will review it against domestic prices and stocks in storage.",
         "Exporters welcomed the decision but said rail capacity to the ports remained tight "
         "and freight rates had risen by a fifth since the autumn."]),
        content_type="text/html; charset=utf-8")
    feed_a = server.add("/a.xml", rss([{"title": "Russian grain exports rise", "link": page,
                                        "description": "The Russian ministry raised a quota."}]))
    feed_b = server.add("/b.xml", rss([{"title": "North Korea eyes grain imports", "link": page,
                                        "description": "Pyongyang is short of wheat."}]),
                        delay=1.0)     # A's entry reaches the page first
    config = write_config(tmp_path, [feed_a, feed_b])
    r = run_cli(config, "poll")
    assert r.returncode == 0, r.stderr
    assert "0 new stories" in r.stdout and "2 off-topic" in r.stdout, r.stdout
    rows = {row["title"]: row for row in json.loads(run_cli(config, "why", "--rejected",
                                                            "--json").stdout)}
    assert "names only one side" in rows["Russian grain exports rise"]["reason"]
    b = rows["North Korea eyes grain imports"]["reason"]
    # both sides were found (North Korea in the entry, Russia in the page): scored, far apart
    assert "names only one side" not in b and "far apart" in b, b
    assert server.count("/shared/story") == 2      # read again for the other side
