"""The daily digest: which stories go in, how they group into events, and when one is due.

    state.undigested() ─▶ DigestStory (lead, language, sightings) ─▶ group_events ─▶ Digest
                                                              render.py (Jinja2) ─▶ deliver.py

A story is in exactly one delivered digest: the selection is "appended by us and not yet in a
delivered digest", and a digest's stories are recorded only after the server (or the outbox)
accepted it. Grouping: stories published within a day and a half of each other whose titles and
opening words share enough distinctive words are one event; the topic's own words (Russia, North
Korea, Putin, Kim...) are shared by every story and do not count.

Pure functions and plain data; the only I/O is reading corpus files through the Corpus handed in.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

SAME_EVENT_WITHIN = timedelta(hours=36)
LEAD_SENTENCES = 3
LEAD_CHARS = 420

# Words every story on this topic shares (in English, Russian and Korean), and function words.
# Neither says which event a story is about.
TOPIC_WORDS = set("""
russia russian russians russia's moscow kremlin putin vladimir putin's lavrov shoigu belousov
peskov north south korea korean koreans korea's pyongyang kim jong un kim's dprk kcna
россия россии россию россией российский российской российские рф москва москвы москве кремль
путин путина путину владимир кндр северная северной корея кореи корею пхеньян пхеньяна ким чен ын
북한 북한은 북한이 북한의 북한과 북 러시아 러시아는 러시아가 러시아의 러시아와 푸틴 김정은 평양 북러 조선
""".split())
STOPWORDS = set("""
the a an and or but of to in on at for from by with as is are was were be been has have had
it its this that these those after before over under into about amid says said will would could
new news report reports reported more than also not his her their they he she who what when
which while during against between says told according year years first last two three one
и в во на с со по к о об от до из за для не что как это его ее их был была были будет также
году год после более между однако словам сообщил заявил
은 는 이 가 을 를 의 에 에서 와 과 도 으로 로 및 등 한 했다 있다 밝혔다
""".split())
# Words that say nothing about which event a story is on: weekdays, months, and the stock
# vocabulary of diplomatic coverage (two "cooperation agreements" on different things are not one
# event; every greeting message speaks of friendship between peoples).
GENERIC = set("""
monday tuesday wednesday thursday friday saturday sunday today yesterday week weekend
january february march april may june july august september october november december
cooperation agreement agreements sign signed signs deal deals talks meeting meet meets visit
visits relations ties bilateral countries country peoples people friendship message messages
leader leaders official officials government minister ministry president state media agency
sides both two side partnership strategic comprehensive
понедельник вторник среда четверг пятница суббота воскресенье сотрудничество соглашение
""".split())
WORD_RE = re.compile(r"\w+", re.UNICODE)
# A sentence ends at . ! ? or … (and any closing quotes or brackets after it) followed by space —
# but not after an abbreviation or an initial ("Mr.", "U.S.", "J.").
SENTENCE_END_RE = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s+)")
ABBREVIATIONS = set("""
mr mrs ms dr prof st gen lt col maj capt sgt adm rev jr sr no vs etc inc ltd co corp dept
gov sen rep amb approx fig u.s u.k u.n e.g i.e a.m p.m jan feb mar apr jun jul aug sep sept oct
nov dec г гг т.е т.д им ул
""".split())


@dataclass(frozen=True)
class Sighting:
    outlet: str            # the feed's name, or the link's host
    url: str


@dataclass(frozen=True)
class DigestStory:
    id: str
    file_name: str
    title: str
    link: str | None
    outlet: str
    published: datetime    # aware, UTC (the entry's date, else when it was fetched)
    language: str          # "en", "ru", "ko", ... from the text's script
    lead: str              # the first 2-3 sentences of the text
    also: tuple[Sighting, ...] = ()   # other places the same text was seen (duplicates skipped)


@dataclass(frozen=True)
class Event:
    stories: tuple[DigestStory, ...]   # the first (earliest) gives the heading

    @property
    def heading(self) -> DigestStory:
        return self.stories[0]

    @property
    def outlets(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.stories:
            seen.setdefault(s.outlet, None)
            for a in s.also:
                seen.setdefault(a.outlet, None)
        return list(seen)

    @property
    def also_seen(self) -> list[Sighting]:
        """Other places the same texts were seen (copies skipped as duplicates), once each."""
        out, seen = [], {s.link for s in self.stories}
        for s in self.stories:
            for a in s.also:
                if a.url not in seen:
                    out.append(a)
                    seen.add(a.url)
        return out


@dataclass(frozen=True)
class FeedProblem:
    name: str
    state: str             # failing | gone | silent
    detail: str


@dataclass(frozen=True)
class Digest:
    title: str             # the topic's name, e.g. "Russia–North Korea"
    events: tuple[Event, ...]
    period_start: datetime
    period_end: datetime
    tz: ZoneInfo
    problems: tuple[FeedProblem, ...] = ()
    story_ids: tuple[str, ...] = field(default=())

    @property
    def count(self) -> int:
        return len(self.story_ids)

    @property
    def outlet_count(self) -> int:
        return len({s.outlet for e in self.events for s in e.stories})

    @property
    def local_end(self) -> datetime:
        return self.period_end.astimezone(self.tz)

    @property
    def subject(self) -> str:
        d = self.local_end
        day = f"{d:%a} {d.day} {d:%b}"
        if not self.count:
            return f"{self.title}: nothing new ({day})"
        return f"{self.title}: {self.count} new {'story' if self.count == 1 else 'stories'} ({day})"

    @property
    def key(self) -> str:
        """Stable for the same set of stories: a resend after a crash reuses its Message-ID."""
        basis = "\n".join(sorted(self.story_ids)) or self.period_end.isoformat()
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


# -- selecting and describing stories -----------------------------------------------------------


def language(text: str) -> str:
    """The language a text is in, from its script: Hangul → ko, Cyrillic → ru, else en."""
    counts = {"ko": 0, "ru": 0, "latin": 0}
    for ch in text[:4000]:
        if "\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f":
            counts["ko"] += 1
        elif "\u0400" <= ch <= "\u04ff":
            counts["ru"] += 1
        elif ch.isalpha() and ch.isascii():
            counts["latin"] += 1
    total = sum(counts.values()) or 1
    if counts["ko"] / total >= 0.2:
        return "ko"
    if counts["ru"] / total >= 0.3:
        return "ru"
    return "en"


def sentences(text: str) -> list[str]:
    """Split text into sentences, keeping closing quotes with their sentence."""
    out, start = [], 0
    for m in SENTENCE_END_RE.finditer(text):
        before = text[start:m.start()].rsplit(None, 1)
        word = before[-1].casefold().lstrip("(\"'“«") if before else ""
        if text[m.start()] == "." and (word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            continue
        out.append(text[start:m.end()].strip())
        start = m.end()
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def lead(paragraphs: list[str], sentences_wanted: int = LEAD_SENTENCES,
         limit: int = LEAD_CHARS) -> str:
    """The first few sentences of the text, about `limit` characters at most (a longer first
    sentence is cut at a word and ends with " …")."""
    text = " ".join(p.strip() for p in paragraphs if p.strip())
    out = ""
    for s in sentences(text)[:sentences_wanted]:
        candidate = f"{out} {s}".strip()
        if len(candidate) > limit and out:
            break
        out = candidate
        if len(out) >= limit * 0.6:
            break
    if len(out) > limit:
        out = out[:limit - 2].rsplit(" ", 1)[0].rstrip(",;:–— ") + " …"
    return out


def _outlet(name: str | None, url: str | None) -> str:
    if name:
        return name
    host = urlsplit(url or "").hostname or "unknown"
    return host.removeprefix("www.")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def describe(row: dict, text: str | None, sightings: list[dict]) -> DigestStory:
    """One stories row (with its feed's name) and its corpus file's text → a DigestStory."""
    lines = (text or "").split("\n")
    title = (lines[0].strip() if text else "") or row.get("title") or row["file_name"]
    paragraphs = [l for l in lines[1:] if l.strip()]
    link = row.get("link")
    outlet = _outlet(row.get("feed_name") or row.get("feed_title") or row.get("outlet"), link)
    also = []
    for g in sightings:
        if g.get("url") and g["url"] != link:
            also.append(Sighting(_outlet(g.get("feed_name") or g.get("feed_title"), g["url"]),
                                 g["url"]))
    return DigestStory(
        id=row["id"], file_name=row["file_name"], title=title, link=link, outlet=outlet,
        published=_when(row.get("published")) or _when(row.get("fetched_at"))
        or datetime.now(timezone.utc),
        language=language(title + " " + " ".join(paragraphs[:3])), lead=lead(paragraphs),
        also=tuple(also))


# -- grouping stories into events ---------------------------------------------------------------


def _stem(word: str) -> str:
    if "\uac00" <= word[0] <= "\ud7a3":
        return word[:-1] if len(word) >= 3 else word     # drop a trailing particle: 북한은 → 북한
    return word[:6]                                     # crude, but fine for en/ru overlap


def key_words(title: str, lead_text: str) -> frozenset[str]:
    """Distinctive words of a story: title and lead, without topic and function words."""
    text = unicodedata.normalize("NFKC", f"{title} {lead_text}").casefold()
    words = set()
    for w in WORD_RE.findall(text):
        if len(w) < 3 and not ("\uac00" <= w[0] <= "\ud7a3" and len(w) >= 2):
            continue
        if w in TOPIC_WORDS or w in STOPWORDS or w in GENERIC or w.isdigit() and len(w) < 3:
            continue
        words.add(_stem(w))
    return frozenset(words)


def same_event(a: DigestStory, b: DigestStory, ka: frozenset[str], kb: frozenset[str],
               ta: frozenset[str], tb: frozenset[str]) -> bool:
    """Published within a day and a half, and: titles share half their distinctive words, or
    title+lead share at least four, and at least 35% of the smaller set (thresholds measured
    on tests/data/digest_pairs.json)."""
    if abs(a.published - b.published) > SAME_EVENT_WITHIN:
        return False
    if ta and tb and len(ta & tb) >= 2 and len(ta & tb) / len(ta | tb) >= 0.5:
        return True
    shared = len(ka & kb)
    return shared >= 4 and shared / max(1, min(len(ka), len(kb))) >= 0.35


def group_events(stories: list[DigestStory]) -> list[Event]:
    """Stories → events (union of same-event pairs). Events are ordered by how many outlets
    covered them, then newest first; inside an event, the earliest story leads."""
    keys = [key_words(s.title, s.lead) for s in stories]
    tkeys = [key_words(s.title, "") for s in stories]
    parent = list(range(len(stories)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(stories)):
        for j in range(i + 1, len(stories)):
            if find(i) != find(j) and same_event(stories[i], stories[j], keys[i], keys[j],
                                                 tkeys[i], tkeys[j]):
                parent[find(j)] = find(i)
    groups: dict[int, list[DigestStory]] = {}
    for i, s in enumerate(stories):
        groups.setdefault(find(i), []).append(s)
    events = [Event(tuple(sorted(g, key=lambda s: (s.published, s.file_name))))
              for g in groups.values()]
    events.sort(key=lambda e: (-len(e.outlets), -max(s.published for s in e.stories).timestamp(),
                               e.heading.file_name))
    return events


# -- when a digest is due ------------------------------------------------------------------------


def slot_on(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    """The digest time on a local day, in UTC. A time that does not exist that day (spring
    forward) is read with the offset before the change, i.e. it falls an hour later."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=tz).astimezone(timezone.utc)


def latest_slot(now: datetime, hhmm: str, tz: ZoneInfo) -> datetime:
    """The most recent scheduled digest time at or before `now`."""
    today = now.astimezone(tz).date()
    for back in range(3):
        slot = slot_on(today - timedelta(days=back), hhmm, tz)
        if slot <= now:
            return slot
    raise AssertionError("unreachable: a daily slot within three days")


def next_slot(now: datetime, hhmm: str, tz: ZoneInfo) -> datetime:
    today = now.astimezone(tz).date()
    for ahead in range(3):
        slot = slot_on(today + timedelta(days=ahead), hhmm, tz)
        if slot > now:
            return slot
    raise AssertionError("unreachable: a daily slot within three days")


RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=1)


def digest_due(now: datetime, slot: datetime, handled: datetime | None,
               failures: list[datetime]) -> bool:
    """Is the digest for `slot` owed now? Not if it (or a later one) was handled; after failed
    attempts, retry with a backoff of 5 minutes doubling up to an hour."""
    if handled is not None and handled >= slot:
        return False
    if not failures:
        return True
    wait = min(RETRY_MAX, RETRY_FIRST * 2 ** min(len(failures) - 1, 16))
    return now >= max(failures) + wait


# -- building one ---------------------------------------------------------------------------------


def build(state, corpus, title: str, tz: ZoneInfo, now: datetime,
          problems: list[FeedProblem] = ()) -> Digest:
    """Every story not yet in a delivered digest, described and grouped."""
    rows = state.undigested()
    sightings = state.story_sightings([r["id"] for r in rows])
    stories = []
    for r in rows:
        try:
            text = corpus.read(r["file_name"])
        except OSError:          # a file a person removed: keep the story, from its row
            text = None
        stories.append(describe(r, text, sightings.get(r["id"], [])))
    last = state.last_digest(("delivered",))
    start = _when(last["period_end"]) if last else None
    if start is None:
        fetched = [_when(r["fetched_at"]) for r in rows if r.get("fetched_at")]
        start = min(fetched) if fetched else now
    return Digest(title=title, events=tuple(group_events(stories)), period_start=min(start, now),
                  period_end=now, tz=tz, problems=tuple(problems),
                  story_ids=tuple(s.id for s in stories))


def feed_problems(rows: list[dict]) -> list[FeedProblem]:
    """From App.feed_rows(): the enabled feeds that are failing, gone or silent."""
    out = []
    for r in rows:
        if not r.get("enabled", True):
            continue
        name = r.get("name") or r.get("title") or r["url"]
        if r.get("gone"):
            out.append(FeedProblem(name, "gone", "the server says 410 Gone; no longer polled"))
        elif r.get("consecutive_failures"):
            n = r["consecutive_failures"]
            out.append(FeedProblem(name, "failing",
                                   f"{n} failed poll{'s' if n != 1 else ''} in a row: "
                                   f"{r.get('last_error') or 'unknown error'}"))
        elif r.get("silent"):
            out.append(FeedProblem(name, "silent", "no new item in 7 days (usually several a week)"))
    return out
