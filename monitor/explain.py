"""Why a story was kept or rejected, and what a changed topic would keep or drop.

`why` reads the decision stored with a story or a feed entry (score, reason, evidence); a file the
program did not write (a seed, a hand-added file) is scored now. `replay` re-scores the corpus and
recent candidates with the current topic definition and reports the differences. Neither changes
anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from monitor.catalog import find
from monitor.classify import Topic, classify, evidence
from monitor.dedup import canonical_url


@dataclass
class Explanation:
    subject: str                   # the file name or URL asked about
    decision: str                  # appended | rejected | duplicate | in corpus (not scored) ...
    title: str | None
    reason: str | None
    score: int | None
    matches: list[dict] = field(default_factory=list)
    scored_now: bool = False       # True: not stored, scored with the current topic
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"subject": self.subject, "decision": self.decision, "title": self.title,
                "reason": self.reason, "score": self.score, "matches": self.matches,
                "scored_now": self.scored_now, **self.details}


def _evidence(raw) -> dict:
    """Stored evidence: a dict (score, close, keep, reason, matches) or, from before scores were
    stored, a plain list of matches."""
    if not raw:
        return {}
    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {"matches": value}


def _fields_of_file(text: str) -> dict[str, str]:
    title, _, body = text.partition("\n")
    return {"title": title, "text": body}


def why(state, corpus, topic: Topic, subject: str) -> Explanation | None:
    """Explain one story (by corpus file name, number or id) or entry (by URL). None if
    nothing is known."""
    story = None
    if "://" not in subject:
        name = subject.rsplit("/", 1)[-1]
        story = find(state, name)     # by file name, number or id
        if story is None and (corpus.directory / name).is_file():
            story = {"file_name": name, "text_source": "external", "title": None}
    else:
        canonical = canonical_url(subject)
        story = state.story_by_url(canonical)
        if story is None:
            e = state.latest_entry(canonical, subject)
            if e is None:
                return None
            ev = _evidence(e["evidence"])
            return Explanation(subject, e["decision"], e["title"], e["reason"],
                               e.get("score", ev.get("score")), ev.get("matches", []),
                               details={"feed": e["feed_url"], "seen_at": e["seen_at"]})
    if story is None:
        return None
    if story.get("text_source") == "external":
        try:
            text = corpus.read(story["file_name"])
        except OSError:
            return None
        v = classify(_fields_of_file(text), topic)
        ev = evidence(v, topic)
        return Explanation(story["file_name"], "in the corpus (not written by monitor)",
                           text.partition("\n")[0], v.reason, v.score, ev["matches"],
                           scored_now=True)
    ev = _evidence(story.get("matched_terms"))
    sightings = state.sightings(story["id"])
    return Explanation(story["file_name"], "appended", story["title"],
                       ev.get("reason"), story.get("score", ev.get("score")),
                       ev.get("matches", []),
                       details={"link": story.get("link"), "fetched_at": story.get("fetched_at"),
                                "text_method": story.get("text_method"),
                                "seen_at": [s["url"] for s in sightings]})


def rejected(state, limit: int = 50) -> list[dict]:
    """The most recent rejected candidates, newest first."""
    return state.rejected_entries(limit)


@dataclass
class Replay:
    corpus_total: int = 0
    corpus_dropped: list[tuple[str, str, str]] = field(default_factory=list)   # file, title, reason
    candidates_total: int = 0
    newly_kept: list[tuple[str, str, str]] = field(default_factory=list)       # link, title, reason
    newly_rejected: list[tuple[str, str, str]] = field(default_factory=list)


def replay(state, corpus, topic: Topic, recent: int = 1000) -> Replay:
    """Re-score every corpus file and the `recent` latest feed entries that were appended or
    rejected (title + feed summary: pages are not fetched again)."""
    out = Replay()
    for f in corpus.scan():
        try:
            text = corpus.read(f.name)
        except OSError:
            continue
        out.corpus_total += 1
        v = classify(_fields_of_file(text), topic)
        if not v.keep:
            out.corpus_dropped.append((f.name, text.partition("\n")[0], v.reason))
    rows = state.recent_candidates(recent)
    for r in rows:
        out.candidates_total += 1
        v = classify({"title": r["title"] or "", "summary": r["summary"] or ""}, topic)
        if r["decision"] == "rejected" and v.keep:
            out.newly_kept.append((r["link"] or "", r["title"] or "", v.reason))
        elif r["decision"] == "appended" and not v.sides:
            out.newly_rejected.append((r["link"] or "", r["title"] or "", v.reason))
    return out
