"""One story, one file: near-duplicate text and headlines across outlets, end to end through the
CLI against a real HTTP server, plus unit tests of the fingerprint and title rules."""

from __future__ import annotations

import json
import re
import sqlite3

from monitor.dedup import fingerprint, is_near_duplicate, near_duplicate_groups, normalize_title
from tests.conftest import DATA, SEEDS, article_page, rss, run_cli, write_config

ND = json.loads((DATA / "near_dups.json").read_text(encoding="utf-8"))
NAME_RE = re.compile(r"^\d{3,}_[0-9a-f]{16}\.txt$")
WIRE_TITLE = "Russian defence minister Belousov arrives in Pyongyang for talks"


def stories(corpus) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(corpus.iterdir())
            if NAME_RE.match(p.name)}


def added(corpus) -> list[str]:
    return [t for n, t in stories(corpus).items() if not n.startswith(("000_", "003_"))]


def publish(server, path: str, title: str, paragraphs: list[str], feed: str,
            outlet: str = "Outlet") -> str:
    server.add(path, article_page(title, paragraphs), content_type="text/html; charset=utf-8")
    return server.add(feed, rss([{"title": title, "link": server.url(path),
                                  "description": paragraphs[0][:200]}], title=outlet))


def test_three_outlets_carrying_one_agency_story_make_one_file(server, corpus, tmp_path):
    wire = ND["wire"]
    copies = {
        "a": wire,
        # another outlet: its own intro line and byline, the last paragraph dropped
        "b": ["By Staff Reporter, Seoul"] + ["SEOUL (Agencies) - " + wire[0]] + wire[1:-1],
        # a third: a different headline, an editor's note, a dropped paragraph in the middle
        "c": wire[:4] + wire[5:] + ["This story has been updated with additional reporting."],
    }
    titles = {"a": WIRE_TITLE, "b": "Russia's Belousov in North Korea for military talks - KCNA",
              "c": "Russian defence chief visits Pyongyang"}
    feeds = [publish(server, f"/{k}/story", titles[k], copies[k], f"/{k}.xml", f"Outlet {k}")
             for k in "abc"]
    config = write_config(tmp_path, feeds)

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "1 new stories" in r.stdout and "2 duplicates" in r.stdout, r.stdout
    assert len(added(corpus)) == 1
    db = sqlite3.connect(tmp_path / "state.db")
    (sid,) = db.execute("select id from stories where text_source = 'page'").fetchone()
    sightings = db.execute("select feed_id, url from sightings where story_id = ?", [sid]).fetchall()
    assert len({f for f, _ in sightings}) == 3          # provenance: every outlet that carried it
    reasons = [r for (r,) in db.execute("select reason from entries where decision='duplicate'")]
    assert len(reasons) == 2 and all("near-duplicate" in r for r in reasons)


def test_an_update_with_an_added_paragraph_is_not_a_new_file(server, corpus, tmp_path):
    feed = publish(server, "/wire/1", WIRE_TITLE, ND["wire"], "/feed.xml")
    config = write_config(tmp_path, [feed])
    assert "1 new stories" in run_cli(config, "poll").stdout
    # the outlet republishes it as an update, under a new URL and an "UPDATE 1-" headline
    publish(server, "/wire/1-update", "UPDATE 1-" + WIRE_TITLE,
            ND["wire"] + [ND["update_paragraph"]], "/feed.xml")

    r = run_cli(config, "poll")

    assert "0 new stories" in r.stdout and "1 duplicates" in r.stdout, r.stdout
    assert len(added(corpus)) == 1


def test_a_rewrite_of_a_seed_story_is_not_a_new_file(server, corpus, tmp_path):
    seed = (SEEDS / "003_6febad277e54dc63.txt").read_text(encoding="utf-8").split("\n")
    body = [p for p in seed if not p.startswith(("Related stories", "North Korea flies",
                                                 "North Korea welcomes"))]
    swaps = {"signed": "concluded", "tensions": "frictions", "emphasized": "stressed",
             "grand": "lavish", "escalating": "rising", "country": "nation"}
    rewritten = [" ".join(swaps.get(w, w) for w in p.split()) for p in body]
    feed = publish(server, "/rewrite", "Putin and Kim sign mutual aid pact in Pyongyang",
                   rewritten, "/feed.xml")
    config = write_config(tmp_path, [feed])

    r = run_cli(config, "poll")

    assert r.returncode == 0, r.stderr
    assert "0 new stories" in r.stdout and "1 duplicates" in r.stdout, r.stdout + r.stderr
    reason = sqlite3.connect(tmp_path / "state.db").execute(
        "select reason from entries where decision = 'duplicate'").fetchone()[0]
    assert "003_6febad277e54dc63.txt" in reason


def test_two_independent_reports_of_one_summit_are_two_files(server, corpus, tmp_path):
    a, b = ND["summit_a"], ND["summit_b"]
    feeds = [publish(server, "/a/summit", a["title"], a["paragraphs"], "/a.xml", "A"),
             publish(server, "/b/summit", b["title"], b["paragraphs"], "/b.xml", "B")]
    r = run_cli(write_config(tmp_path, feeds), "poll")
    assert "2 new stories" in r.stdout, r.stdout
    assert len(added(corpus)) == 2


def test_a_short_brief_sharing_the_lede_of_a_feature_is_not_merged(server, corpus, tmp_path):
    f = ND["feature"]
    brief = "Russia and North Korea deepen their alliance"
    feeds = [publish(server, "/feature", f["title"], [f["lede"]] + f["paragraphs"], "/f.xml"),
             server.add("/brief.xml", rss([{"title": brief, "link": server.url("/gone"),
                                            "description": f["lede"]}]))]
    r = run_cli(write_config(tmp_path, feeds), "poll")
    assert "2 new stories" in r.stdout, r.stdout
    texts = added(corpus)
    assert sorted(t.split("\n")[0] for t in texts) == sorted([f["title"], brief])


def test_same_headline_from_the_same_outlet_is_the_same_story(server, corpus, tmp_path):
    a = ND["summit_a"]
    feed = publish(server, "/s/1", a["title"], a["paragraphs"], "/feed.xml")
    config = write_config(tmp_path, [feed])
    assert "1 new stories" in run_cli(config, "poll").stdout
    # same outlet (site), same headline behind a "LIVE:" prefix and an outlet suffix, and a
    # text largely rewritten (similarity ~0.3, below the text-only threshold): same story
    publish(server, "/s/2", "LIVE: " + a["title"] + " | Outlet News",
            a["paragraphs"][:2] + ND["summit_b"]["paragraphs"][2:], "/feed.xml")
    r = run_cli(config, "poll")
    assert "0 new stories" in r.stdout and "1 duplicates" in r.stdout, r.stdout
    reason = sqlite3.connect(tmp_path / "state.db").execute(
        "select reason from entries where decision = 'duplicate'").fetchone()[0]
    assert "same headline" in reason


def test_hand_added_file_is_indexed_at_start_up_and_the_index_survives_restarts(
        server, corpus, tmp_path):
    (corpus / "010_00000000000000aa.txt").write_text(
        WIRE_TITLE + "\n" + "\n".join(ND["wire"]), encoding="utf-8")
    feed = publish(server, "/w", "Belousov visits North Korea",
                   ["PYONGYANG (Agency) -"] + ND["wire"][:-1], "/feed.xml")
    config = write_config(tmp_path, [feed])
    r = run_cli(config, "poll")
    assert "0 new stories" in r.stdout and "1 duplicates" in r.stdout, r.stdout
    db = sqlite3.connect(tmp_path / "state.db")
    count = db.execute("select count(*) from fingerprints").fetchone()[0]
    assert count == 3                           # two seeds and the hand-added file
    run_cli(config, "feeds")                    # a restart reads no file it already knows
    assert db.execute("select count(*) from fingerprints").fetchone()[0] == count


def test_a_recurring_headline_with_different_text_is_a_new_story(server, corpus, tmp_path):
    a, b = ND["summit_a"], ND["summit_b"]
    title = "Press review of the week in North Korea and Russia"
    feed = publish(server, "/r/1", title, a["paragraphs"], "/feed.xml")
    config = write_config(tmp_path, [feed])
    assert "1 new stories" in run_cli(config, "poll").stdout
    publish(server, "/r/2", title, b["paragraphs"], "/feed.xml")
    r = run_cli(config, "poll")
    assert "1 new stories" in r.stdout, r.stdout
    assert len(added(corpus)) == 2


def test_title_only_stories_are_not_merged_by_text():
    dup, _ = is_near_duplicate(fingerprint(""), fingerprint(""))
    assert not dup


def test_dedup_check_reports_groups_and_changes_nothing(corpus, tmp_path):
    (corpus / "020_00000000000000bb.txt").write_text(
        WIRE_TITLE + "\n" + "\n".join(ND["wire"]), encoding="utf-8")
    (corpus / "021_00000000000000cc.txt").write_text(
        "Update\n" + "\n".join(ND["wire"] + [ND["update_paragraph"]]), encoding="utf-8")
    a = ND["summit_a"]
    (corpus / "022_00000000000000dd.txt").write_text(
        a["title"] + "\n" + "\n".join(a["paragraphs"]), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    config = write_config(tmp_path, [])

    r = run_cli(config, "dedup", "--check")

    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("1 near-duplicate groups among 5 stories")
    assert "020_00000000000000bb.txt" in r.stdout and "021_00000000000000cc.txt" in r.stdout
    assert "022_" not in r.stdout
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before
    assert not (tmp_path / "state.db").exists()


# -- units ------------------------------------------------------------------------------------


def test_fingerprint_is_stable_and_similarity_tracks_overlap():
    text = "\n".join(ND["wire"])
    assert fingerprint(text) == fingerprint(text)
    dup, sim = is_near_duplicate(fingerprint(text), fingerprint(text + "\n" + ND["update_paragraph"]))
    assert dup and 0.75 < sim < 1.0
    other = "\n".join(ND["summit_a"]["paragraphs"])
    dup, sim = is_near_duplicate(fingerprint(text), fingerprint(other))
    assert not dup and sim < 0.1


def test_short_texts_need_a_stricter_match():
    a = "Russia and North Korea signed a new agreement on border trade on Monday in Moscow."
    b = "Russia and North Korea signed a new agreement on fishing rights on Monday in Moscow."
    dup, sim = is_near_duplicate(fingerprint(a), fingerprint(b))
    assert 0.3 < sim < 0.8 and not dup


def test_normalize_title_strips_outlets_prefixes_and_punctuation():
    assert normalize_title("UPDATE 2-Russia, N.Korea sign pact | Reuters") == \
        normalize_title("Russia, N.Korea sign pact")
    assert normalize_title("LIVE: Putin in Pyongyang – BBC News") == "putin in pyongyang"
    assert normalize_title("(LEAD) N. Korea's Kim oversees test") == "n korea s kim oversees test"
    assert normalize_title("EXCLUSIVE: Kim meets Lavrov") == "kim meets lavrov"
    assert normalize_title("Reuters - Russia and North Korea sign treaty") == \
        "russia and north korea sign treaty"
    # a dash between the two sides is part of the headline, not a separator
    assert normalize_title("Kim - Putin summit ends") == "kim putin summit ends"
    assert normalize_title("Путин прибыл в Пхеньян | ТАСС", "ТАСС") == "путин прибыл в пхеньян"


def test_near_duplicate_groups_in_memory():
    wire = "\n".join(ND["wire"])
    groups = near_duplicate_groups({"a": wire, "b": wire + "\nMore.",
                                    "c": "\n".join(ND["summit_b"]["paragraphs"])})
    assert [[m[0] for m in g] for g in groups] == [["a", "b"]]
