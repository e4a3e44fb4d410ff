"""What was collected: list, show and export the stories in the corpus with their metadata.

Reads the database and the corpus files; changes nothing. Every corpus file is a story here,
including the seeds and files a person added (text_source "external").
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Iterator

from monitor.digest import language

FIELDS = ("id", "file_name", "number", "title", "outlet", "link", "canonical_url", "published",
          "fetched_at", "language", "score", "text_source", "text_method", "seen_at")


def _row(state, r: dict, sightings: dict[str, list[dict]] | None = None) -> dict:
    out = {k: r.get(k) for k in FIELDS if k not in ("language", "seen_at")}
    out["language"] = language(r.get("title") or "")
    out["seen_at"] = [s["url"] for s in (sightings or {}).get(r["id"], []) if s.get("url")]
    return out


def stories(state, since: datetime | None = None, outlet: str | None = None,
            lang: str | None = None, limit: int | None = 50) -> list[dict]:
    """Stories, newest first (by corpus number)."""
    where, args = ["status = 'committed'"], []
    if since:
        where.append("coalesce(published, fetched_at) >= ?")
        args.append(since.astimezone(timezone.utc).isoformat(timespec="seconds"))
    if outlet:
        where.append("lower(coalesce(outlet, '')) like ?")
        args.append(f"%{outlet.lower()}%")
    rows = state.stories_where(where, args)
    out = []
    for r in rows:
        item = _row(state, r)
        if lang and item["language"] != lang:
            continue
        out.append(item)
        if limit and len(out) >= limit:
            break
    return out


def find(state, key: str) -> dict | None:
    """A story by file name, number, or id."""
    name = key.rsplit("/", 1)[-1]
    for sql, arg in (("file_name = ?", name), ("id = ?", name),
                     ("number = ?", int(name) if name.isdigit() else None)):
        if arg is None:
            continue
        row = state.story_where(sql, arg)
        if row:
            return row
    return None


def show(state, corpus, key: str) -> dict | None:
    r = find(state, key)
    if r is None:
        return None
    item = _row(state, r, state.story_sightings([r["id"]]))
    try:
        item["text"] = corpus.read(r["file_name"])
    except OSError as e:
        item["text"] = None
        item["text_error"] = str(e)
    item["sightings"] = [{"url": s["url"], "feed": s.get("feed_name"), "seen_at": s["seen_at"]}
                         for s in state.story_sightings([r["id"]])[r["id"]]]
    ev = r.get("matched_terms")
    item["evidence"] = json.loads(ev) if ev else None
    item["text_note"] = r.get("text_note")
    return item


def export(state, corpus, fmt: str) -> Iterator[str]:
    """The whole corpus with metadata, oldest first: JSON lines, or CSV with a header."""
    rows = state.committed_stories()
    sightings = state.story_sightings([r["id"] for r in rows])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([*FIELDS, "text"])
        yield buf.getvalue()
    for r in rows:
        item = _row(state, r, sightings)
        try:
            item["text"] = corpus.read(r["file_name"]).partition("\n")[2]
        except OSError:
            item["text"] = None
        if fmt == "jsonl":
            yield json.dumps(item, ensure_ascii=False) + "\n"
        else:
            buf = io.StringIO()
            csv.writer(buf).writerow([("; ".join(item[k]) if k == "seen_at" else item[k])
                                      for k in (*FIELDS, "text")])
            yield buf.getvalue()


def search(state, query: str, limit: int = 20) -> list[dict]:
    return state.search(query, limit)


def growth(state, now: datetime, days: int = 30) -> list[tuple[str, int]]:
    """Stories added per day (UTC) over the last `days` days, oldest first, zeros included."""
    from datetime import timedelta

    start = (now - timedelta(days=days - 1)).date()
    counts = state.appended_per_day(start.isoformat())
    return [((start + timedelta(days=i)).isoformat(), counts.get((start + timedelta(days=i))
                                                                 .isoformat(), 0))
            for i in range(days)]


def spark(values: list[int]) -> str:
    """A one-line chart: one block character per value."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    if not top:
        return "▁" * len(values)
    return "".join(blocks[max(1, round(v / top * 8))] if v else blocks[0] for v in values)
