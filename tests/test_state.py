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
    assert all(st.entry_seen(feed_id, f"k{i}") for i in (0, 499))
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
