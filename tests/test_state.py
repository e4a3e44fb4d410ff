"""monitor.state: entry decisions written in batches (one transaction per feed)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from monitor.state import State

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def test_record_entries_inserts_many_and_an_upsert_keeps_unnamed_columns(tmp_path):
    st = State(tmp_path / "s.db")
    feed_id = st.db["feeds"].insert({"url": "http://x/f", "current_url": "http://x/f"}).last_pk
    st.record_entries([(feed_id, f"k{i}", {"title": f"t{i}", "decision": "rejected",
                                           "reason": "names neither side", "score": 0,
                                           "evidence": {"matches": []}})
                       for i in range(500)], NOW)
    assert st.db.execute("select count(*) from entries").fetchone()[0] == 500
    assert st.seen_keys(feed_id, ["k0", "k499", "k500"]) == {"k0", "k499"}
    assert len(st.seen_keys(feed_id, [f"k{i}" for i in range(1200)])) == 500   # > one chunk
    st.record_entry(feed_id, "k7", {"decision": "duplicate", "story_id": "abc"}, NOW)
    row = st.db.execute("select title, decision, story_id, evidence from entries "
                        "where key = 'k7'").fetchone()
    assert row == ("t7", "duplicate", "abc", '{"matches": []}')
    st.close()


def test_record_entries_refuses_an_unknown_column_and_writes_nothing(tmp_path):
    st = State(tmp_path / "s.db")
    with pytest.raises(ValueError, match="unknown entry columns"):
        st.record_entries([(1, "a", {"title": "t"}), (1, "b", {"colour": "red"})], NOW)
    assert st.db.execute("select count(*) from entries").fetchone()[0] == 0
    st.record_entries([], NOW)   # nothing to write: no transaction, no error
    st.close()


def test_indexing_a_story_again_replaces_its_search_row(tmp_path):
    st = State(tmp_path / "s.db")
    for sid, n in (("a" * 16, 1), ("b" * 16, 2)):
        st.db["stories"].insert({"id": sid, "file_name": f"00{n}_{sid}.txt", "number": n,
                                 "status": "committed", "title": "t"})
    assert [r["id"] for r in st.unindexed()] == ["a" * 16, "b" * 16]
    st.index_text("a" * 16, "Putin visits Pyongyang", "first text")
    st.index_text("a" * 16, "Putin visits Pyongyang", "second text")
    rows = st.db.execute("select body from search where story_id = ?", ["a" * 16]).fetchall()
    assert rows == [("second text",)]
    assert [r["id"] for r in st.unindexed()] == ["b" * 16]
    assert st.db.execute("select count(*) from fts_rows").fetchone()[0] == 1
    st.close()


def test_the_fts_rows_migration_maps_an_existing_index(tmp_path):
    """A database indexed before 0008: its rows in `search` are found through fts_rows after."""
    import sqlite3
    st = State(tmp_path / "s.db")
    st.db.execute("insert into search (title, body, story_id) values ('t', 'old', 'c')")
    st.db.execute("delete from fts_rows")
    st.db.execute("delete from _sqlite_migrations where name = '0008_fts_rows'")
    st.db.execute("drop table fts_rows")
    st.db.conn.commit()
    st.close()
    st = State(tmp_path / "s.db")
    st.index_text("c", "t", "new")
    assert st.db.execute("select body from search where story_id = 'c'").fetchall() == [("new",)]
    st.close()
    assert sqlite3.connect(tmp_path / "s.db").execute("pragma integrity_check").fetchone() == ("ok",)


def test_fingerprinting_a_story_again_replaces_its_bands(tmp_path):
    st = State(tmp_path / "s.db")
    st.add_fingerprint("a" * 16, b"\0" * 8, 50, [1, 2, 3], "t", "site", None)
    st.add_fingerprint("b" * 16, b"\0" * 8, 50, [3, 4], "t", "site", None)
    st.add_fingerprint("a" * 16, b"\1" * 8, 60, [5, 6], "t", "site", None)
    rows = st.db.execute("select band_key, story_id from lsh order by band_key").fetchall()
    assert rows == [(3, "b" * 16), (4, "b" * 16), (5, "a" * 16), (6, "a" * 16)]
    assert st.db.execute("select words from fingerprints where story_id = ?",
                         ["a" * 16]).fetchone() == (60,)
    st.close()
