"""Golden files: the fixed digest of tests/digestkit.py (the seven stories of digest_stories.json,
period 2026-11-23 07:00 → 2026-11-24 07:00 Moscow time, two feed problems) rendered as text, HTML
and a whole email, compared byte for byte with tests/data/golden/. A change to the templates shows
up here as a diff to read. After an intended change, regenerate them and read the diff:

    MONITOR_REGOLDEN=1 .venv/bin/python -m pytest -q tests/test_digest_golden.py
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from pathlib import Path

import pytest

from monitor import render
from tests import digestkit as kit

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
REGOLDEN = os.environ.get("MONITOR_REGOLDEN") == "1"


def eml_bytes() -> bytes:
    msg = render.message(kit.fixed_digest(), kit.SENDER, kit.TO, kit.SENT_AT)
    return scrub(msg.as_bytes(policy=email.policy.default))


def scrub(raw: bytes) -> bytes:
    """Volatile parts of an email: the Date header and the random MIME boundary."""
    raw = re.sub(rb"(?m)^Date: .*$", b"Date: <scrubbed>", raw)
    boundaries = set(re.findall(rb'boundary="([^"]+)"', raw))
    for i, b in enumerate(sorted(boundaries)):
        raw = raw.replace(b, b"BOUNDARY-%d" % i)
    return raw


RENDERINGS = {
    "digest.txt": lambda: render.render_text(kit.fixed_digest()).encode("utf-8"),
    "digest.html": lambda: render.render_html(kit.fixed_digest()).encode("utf-8"),
    "digest.eml": eml_bytes,
}


@pytest.mark.parametrize("name", list(RENDERINGS))
def test_rendering_matches_the_golden_file(name):
    path = GOLDEN / name
    got = RENDERINGS[name]()
    if REGOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(got)
    assert path.exists(), f"{path} is missing: run with MONITOR_REGOLDEN=1 to write it"
    want = path.read_bytes()
    if got != want:   # a readable diff: as text
        assert got.decode("utf-8") == want.decode("utf-8"), (
            f"{name} differs from its golden file; if the change is intended, rerun with "
            "MONITOR_REGOLDEN=1 and read the diff")


def test_the_golden_email_parses_and_carries_both_goldens():
    msg = email.message_from_bytes((GOLDEN / "digest.eml").read_bytes(), policy=email.policy.default)
    text, html = (p.get_content() for p in msg.iter_parts())
    assert text == (GOLDEN / "digest.txt").read_text(encoding="utf-8")
    assert html == (GOLDEN / "digest.html").read_text(encoding="utf-8")
    assert msg["Subject"] == "Russia–North Korea: 7 new stories (Tue 24 Nov)"


def test_scrub_replaces_the_boundary_and_the_date():
    a = render.message(kit.fixed_digest(), kit.SENDER, kit.TO, kit.SENT_AT).as_bytes()
    b = render.message(kit.fixed_digest(), kit.SENDER, kit.TO, kit.PERIOD_END).as_bytes()
    assert a != b and scrub(a) == scrub(b)
    assert b"BOUNDARY-0" in scrub(a) and b"Date: <scrubbed>" in scrub(a)
