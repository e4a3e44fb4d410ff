"""Fixed digest inputs for the digest tests, the golden files and docs/screenshot.py: the seven
stories of tests/data/digest_stories.json turned into DigestStory objects through the real
describe() (a fake stories row plus the corpus file's text), and one fully fixed Digest."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.digest import Digest, DigestStory, describe, feed_problems, group_events

DATA = Path(__file__).resolve().parent / "data"
STORIES = json.loads((DATA / "digest_stories.json").read_text(encoding="utf-8"))

MOSCOW = ZoneInfo("Europe/Moscow")
PERIOD_START = datetime(2026, 11, 23, 7, 0, tzinfo=MOSCOW).astimezone(timezone.utc)
PERIOD_END = datetime(2026, 11, 24, 7, 0, tzinfo=MOSCOW).astimezone(timezone.utc)
SENT_AT = PERIOD_END + timedelta(seconds=3)
TITLE = "Russia–North Korea"
SENDER = "monitor@digest.example"
TO = ("analyst@example.org", "desk@example.org")

HOSTS = {"Wire One": "wire-one.example", "Daily Two": "daily-two.example",
         "Seoul Three": "seoul-three.example", "Вести Приморья": "vesti-primorya.example",
         "서울 뉴스": "seoul-news.example"}
# The order the pipeline appended them in (and so their corpus numbers).
ORDER = ["ko_story", "ru_story", "lavrov_a", "lavrov_b", "bridge", "lavrov_c", "hostile"]
# Other places the same text was seen (a copy skipped as a duplicate).
SIGHTINGS = {
    "lavrov_a": [{"url": "https://asia.wire-one.example/world/lavrov-wonsan-choe",
                  "feed_name": "Wire One Asia"}],
    "bridge": [{"url": "https://primorye-today.example/news/tumen-bridge", "feed_name": None}],
}
# The hostile story also carries a hostile link: it must never become a clickable href.
LINKS = {"hostile": "javascript:alert(document.cookie)"}


def file_name(key: str) -> str:
    number = ORDER.index(key) + 1 if key in ORDER else 99
    return f"{number:03d}_{hashlib.sha256(key.encode()).hexdigest()[:16]}.txt"


def title_of(key: str) -> str:
    """The title as the feed parser hands it over (the JSON keeps it as it is in the XML)."""
    return html.unescape(STORIES[key]["title"])


def published(key: str) -> datetime:
    return parsedate_to_datetime(STORIES[key]["pubDate"]).astimezone(timezone.utc)


def link(key: str) -> str:
    return LINKS.get(key) or (f"https://{HOSTS[STORIES[key]['outlet']]}/2026/11/23/"
                              f"{key.replace('_', '-')}")


def story(key: str, **override) -> DigestStory:
    """One story of digest_stories.json, described from a fake row and its corpus text."""
    s = STORIES[key]
    row = {"id": key, "file_name": file_name(key), "title": title_of(key), "link": link(key),
           "feed_name": s["outlet"], "published": published(key).isoformat(),
           "fetched_at": (published(key) + timedelta(minutes=7)).isoformat()}
    row.update(override)
    text = "\n".join([title_of(key), *s["paragraphs"]]) + "\n"
    return describe(row, text, SIGHTINGS.get(key, []))


def all_stories() -> list[DigestStory]:
    return [story(k) for k in ORDER]


def problems():
    return feed_problems([
        {"url": "https://kcna-watch.example/rss", "name": "KCNA Watch", "enabled": True,
         "consecutive_failures": 3, "last_error": "HTTP 503 Service Unavailable"},
        {"url": "https://far-east-wire.example/feed", "name": "Far East Wire", "enabled": True,
         "gone": True},
        {"url": "https://fine.example/rss", "name": "Fine Feed", "enabled": True},
    ])


def fixed_digest() -> Digest:
    stories = all_stories()
    return Digest(title=TITLE, events=tuple(group_events(stories)), period_start=PERIOD_START,
                  period_end=PERIOD_END, tz=MOSCOW, problems=tuple(problems()),
                  story_ids=tuple(s.id for s in stories))
