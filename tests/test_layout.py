"""The shape docs/scaling.md relies on: every database access is in monitor/state.py, so another
store (PostgreSQL) is a new module with State's methods, not a rewrite."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
SQL_USE = re.compile(r"\bsqlite3\b|\bsqlite_utils\b|\.db\b|\.execute\(|\.executemany\(|\.query\(")


def test_only_the_state_module_talks_to_the_database():
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "state.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if SQL_USE.search(code):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, "database access outside state.py:\n" + "\n".join(offenders)


def test_the_check_would_see_a_query_elsewhere():
    assert SQL_USE.search('rows = state.db.query("select 1")')
    assert SQL_USE.search("conn.execute(sql)")
    assert not SQL_USE.search("app.state.story(sid)")
