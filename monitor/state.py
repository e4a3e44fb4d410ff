"""SQLite state through sqlite-utils: tables, named migrations, and the queries the rest needs.

Tables (documented for users in the README):
  feeds      one row per configured feed: validators, body hash, outcome of the last poll, next due
  entries    every feed entry already handled (feed, key) and what was decided about it
  stories    every story the corpus holds (appended, or found in the directory), by 16-hex id
  sightings  every (story, feed, URL) at which a story was seen
  digests    every digest attempt: delivered, failed (with the error) or empty (nothing new)
  digested   which delivered digest each story went out in (one row per story: exactly once)
  search     full-text index (SQLite FTS5) of every story's title and text
  fts_rows  which row of `search` holds which story

Appending a story is journalled: a `pending` stories row is committed before the file is written
and flipped to `committed` after, so `recover()` can finish or forget an append that a kill cut
short. Makes no business decisions.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from monitor.errors import LockError, StateError
from monitor.imports import without

with without("numpy", "pandas"):     # sqlite-utils maps their types; we never pass them
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

migrations = Migrations("monitor")


@migrations(name="0001_initial")
def _m0001(db: Database) -> None:
    db["feeds"].create({
        "id": int, "url": str, "current_url": str, "name": str, "title": str,
        "etag": str, "last_modified": str, "body_hash": str,
        "last_status": str, "last_http_status": int, "last_polled": str, "last_success": str,
        "last_error": str, "last_error_at": str, "consecutive_failures": int,
        "next_due": str, "created_at": str,
    }, pk="id", not_null={"url"}, defaults={"consecutive_failures": 0})
    db["feeds"].create_index(["url"], unique=True)
    db["stories"].create({
        "id": str, "file_name": str, "number": int, "canonical_url": str, "title": str,
        "outlet": str, "feed_id": int, "link": str, "published": str, "fetched_at": str,
        "matched_terms": str, "text_source": str, "text_note": str, "status": str,
        "created_at": str,
    }, pk="id", not_null={"file_name", "status"})
    db["stories"].create_index(["file_name"], unique=True)
    db["stories"].create_index(["canonical_url"])
    db["entries"].create({
        "feed_id": int, "key": str, "link": str, "canonical_url": str, "title": str,
        "decision": str, "reason": str, "story_id": str, "evidence": str, "seen_at": str,
    }, pk=("feed_id", "key"))
    db["sightings"].create({
        "id": int, "story_id": str, "feed_id": int, "url": str, "entry_key": str, "seen_at": str,
    }, pk="id")
    db["sightings"].create_index(["story_id", "feed_id", "url"], unique=True)


@migrations(name="0002_fingerprints")
def _m0002(db: Database) -> None:
    db["fingerprints"].create({
        "story_id": str, "signature": bytes, "words": int, "title_key": str, "outlet": str,
        "published": str,
    }, pk="story_id")
    db["fingerprints"].create_index(["title_key"])
    # The LSH index: one row per (band key, story). WITHOUT ROWID keeps it compact and
    # clustered on the key, so a lookup of BANDS keys is BANDS index seeks.
    db.execute("create table lsh (band_key integer not null, story_id text not null, "
                "primary key (band_key, story_id)) without rowid")


@migrations(name="0003_text_method")
def _m0003(db: Database) -> None:
    db["stories"].add_column("text_method", str)


@migrations(name="0004_feed_schedule")
def _m0004(db: Database) -> None:
    feeds = db["feeds"]
    feeds.add_column("poll_interval", float)    # the adaptive interval, seconds
    feeds.add_column("quiet_polls", int)        # polls in a row that brought nothing new
    feeds.add_column("feed_hint", float)        # the feed's own <ttl> / sy:updatePeriod, seconds
    feeds.add_column("maybe_missed", int)       # polls whose every item was new
    feeds.add_column("gone", int)               # 1 after 410 Gone: no longer polled
    feeds.add_column("last_new_at", str)        # when a poll last brought a new entry


@migrations(name="0005_digests")
def _m0005(db: Database) -> None:
    db["digests"].create({
        "id": int, "slot": str, "status": str, "created_at": str, "period_start": str,
        "period_end": str, "stories": int, "message_id": str, "subject": str, "transport": str,
        "destination": str, "error": str,
    }, pk="id", not_null={"status", "created_at"})
    db["digests"].create_index(["slot"])
    # story_id is the primary key: the database itself refuses a story in two delivered digests
    db["digested"].create({"story_id": str, "digest_id": int}, pk="story_id",
                          foreign_keys=[("digest_id", "digests", "id")])
    db["meta"].create({"key": str, "value": str}, pk="key")


@migrations(name="0006_topic_score")
def _m0006(db: Database) -> None:
    db["entries"].add_column("score", int)       # the topic score (see classify.py)
    db["entries"].add_column("summary", str)     # the entry's feed summary, for `monitor topic --replay`
    db["stories"].add_column("score", int)


@migrations(name="0007_search")
def _m0007(db: Database) -> None:
    # unicode61 folds case and diacritics for Latin and Cyrillic; Korean words carry particles
    # (북한은), so queries match word prefixes (see State.search).
    db.execute("create virtual table search using fts5(title, body, story_id unindexed, "
               "tokenize = 'unicode61 remove_diacritics 2')")


@migrations(name="0008_fts_rows")
def _m0008(db: Database) -> None:
    # search.story_id is UNINDEXED (FTS5 indexes only text): finding a story's row by it scanned
    # the whole index, once per append and once per story at start-up, so adopting a corpus of
    # 100,000 files took most of an hour. This table maps a story to its row in `search`.
    db.execute("create table fts_rows (story_id text primary key, fts_rowid integer not null)")
    db.execute("insert or replace into fts_rows (story_id, fts_rowid) "
               "select story_id, rowid from search")


ENTRY_COLUMNS = frozenset({"feed_id", "key", "link", "canonical_url", "title", "decision",
                           "reason", "story_id", "evidence", "seen_at", "score",
                           "summary"})   # 0001 + 0006


_COLUMN = re.compile(r"[a-z_][a-z0-9_]*")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _enable_wal(db: Database, *, within: float = 30.0) -> None:
    """Switch a database to WAL once. Changing the journal mode needs an exclusive lock and SQLite
    does not always wait for it (two processes opening a new database at the same moment get
    "database is locked" at once, busy timeout or not), so retry for a bounded time."""
    deadline = time.monotonic() + within
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            db.enable_wal()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class State:
    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path is not None else None
        self._daemon_fd: int | None = None
        try:
            if path is None:
                self.db = Database(memory=True)
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                # timeout: wait for another process's write instead of failing at once
                self.db = Database(sqlite3.connect(str(path), timeout=30))
                _enable_wal(self.db)
                self.db.execute("PRAGMA synchronous=NORMAL")
            with self.tx():   # two processes starting at once: one migrates, the other waits
                migrations.apply(self.db)
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise LockError(f"the database {path} is locked by another process (waited "
                                "30 s); try again later") from e
            raise StateError(f"cannot open the database {path}: {e}") from e
        except sqlite3.DatabaseError as e:
            raise StateError(f"the database {path} is not a usable SQLite database ({e}); move "
                             "it aside to start a new one (the corpus files are not affected)") from e
        except OSError as e:
            raise StateError(f"cannot create the database {path}: {e}") from e

    def close(self) -> None:
        if self._daemon_fd is not None:
            os.close(self._daemon_fd)
            self._daemon_fd = None
        self.db.close()

    def claim_daemon(self) -> None:
        """Only one daemon per database: an exclusive flock on the database file itself (SQLite
        uses POSIX record locks, which flock does not touch). Released when the process ends."""
        if self.path is None or self._daemon_fd is not None:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LockError(f"another `monitor run` is already using {self.path}; "
                            "stop it first (one daemon per database)") from None
        self._daemon_fd = fd

    @contextmanager
    def digest_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Only one digest is built and delivered at a time per database (the daemon's and a
        `monitor digest` typed meanwhile would otherwise both send the same stories). Waits up
        to `wait` seconds, then raises LockError."""
        if self.path is None:
            yield
            return
        fd = os.open(self.path.with_name(self.path.name + ".digest-lock"),
                     os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise LockError("another digest is being sent right now "
                                        f"(for {self.path}); try again in a minute") from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def tx(self) -> Iterator[None]:
        """A write transaction that takes SQLite's write lock up front (BEGIN IMMEDIATE).

        A deferred transaction that reads, then writes, fails at once with "database is locked"
        when another process wrote in between (WAL snapshot upgrade); taking the lock first makes
        it wait for the busy timeout instead. Nested calls become savepoints."""
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield
            return
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
            raise
        else:
            self.db.conn.execute("COMMIT")

    # -- feeds ---------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[Any], now: datetime) -> None:
        """Make sure every configured feed has a row (new feeds are due now)."""
        with self.tx():
            rows = {r[0]: {"id": r[1], "name": r[2]} for r in
                    self.db.execute("select url, id, name from feeds").fetchall()}
            for fc in feeds:
                row = rows.get(fc.url)
                if row is None:
                    self.db["feeds"].insert({
                        "url": fc.url, "current_url": fc.url, "name": fc.name,
                        "consecutive_failures": 0, "next_due": iso(now), "created_at": iso(now),
                    })
                    rows[fc.url] = {"id": self.db["feeds"].last_pk, "name": fc.name}
                elif row["name"] != fc.name:
                    self.db["feeds"].update(row["id"], {"name": fc.name})

    def feed_by_url(self, url: str) -> dict | None:
        return self._one("select * from feeds where url = ? limit 1", [url])

    def feeds(self) -> list[dict]:
        return list(self.db["feeds"].rows_where(order_by="id"))

    def update_feed(self, feed_id: int, values: dict) -> None:
        self.update_feeds([(feed_id, values)])

    def update_feeds(self, updates: list[tuple[int, dict]]) -> None:
        """Several feed rows' updates, `(feed_id, values)`, in one transaction (a commit per
        row was a tenth of a warm poll's CPU)."""
        updates = [(i, v) for i, v in updates if v]
        if not updates:
            return
        bad = sorted({c for _, v in updates for c in v if not _COLUMN.fullmatch(c)})
        if bad:
            raise ValueError(f"bad column names: {bad}")
        with self.tx():
            for feed_id, values in updates:
                self.db.conn.execute(
                    f"update feeds set {', '.join(f'[{c}] = ?' for c in values)} where id = ?",
                    [*values.values(), feed_id])

    def new_entries_since(self, since: datetime) -> dict[int, int]:
        """Entries first seen per feed since `since`."""
        rows = self.db.query("select feed_id, count(*) as n from entries where seen_at >= ? "
                             "group by feed_id", [iso(since)])
        return {r["feed_id"]: r["n"] for r in rows}

    def kept_since(self, since: datetime) -> dict[int, int]:
        """Stories appended per feed since `since` (by the feed that first delivered them)."""
        rows = self.db.query(
            "select feed_id, count(*) as n from stories where status = 'committed' "
            "and fetched_at >= ? and feed_id is not null group by feed_id", [iso(since)])
        return {r["feed_id"]: r["n"] for r in rows}

    # -- entries -------------------------------------------------------------------------------

    def seen_keys(self, feed_id: int, keys: list[str]) -> set[str]:
        """Which of `keys` this feed has delivered before."""
        return self._present("select key from entries where feed_id = ? and key in ({})",
                             keys, [feed_id])

    def committed_ids_and_urls(self, ids: list[str], urls: list[str]) -> set[str]:
        """The ids among `ids` and the canonical URLs among `urls` of committed stories."""
        return (self._present("select id from stories where status = 'committed' "
                              "and id in ({})", ids)
                | self._present("select canonical_url from stories where status = 'committed' "
                                "and canonical_url in ({})", urls))

    def _present(self, sql: str, values: list, before: list = ()) -> set:
        """The first column of `sql` (whose `{}` takes a list of placeholders) over `values`,
        500 at a time (SQLite's limit on parameters is 999 in older builds)."""
        out: set = set()
        for i in range(0, len(values), 500):
            chunk = values[i:i + 500]
            out.update(r[0] for r in self.db.conn.execute(
                sql.format(", ".join("?" * len(chunk))), [*before, *chunk]))
        return out

    def record_entry(self, feed_id: int, key: str, values: dict, now: datetime) -> None:
        self.record_entries([(feed_id, key, values)], now)

    def record_entries(self, entries: list[tuple[int, str, dict]], now: datetime) -> None:
        """Insert or update entry decisions, all in one transaction (one per entry costs a
        commit each: 20,000 rejected entries of a cold poll took ~7 s that way)."""
        if not entries:
            return
        rows = []
        for feed_id, key, values in entries:
            unknown = values.keys() - ENTRY_COLUMNS
            if unknown:
                raise ValueError(f"unknown entry columns: {sorted(unknown)}")
            row = {"feed_id": feed_id, "key": key, "seen_at": iso(now), **values}
            if isinstance(row.get("evidence"), (list, dict)):
                row["evidence"] = json.dumps(row["evidence"], ensure_ascii=False)
            rows.append(row)
        # Columns an upsert does not name keep their value, as sqlite-utils' upsert did.
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in rows:
            groups.setdefault(tuple(sorted(row)), []).append(row)
        with self.tx():
            for cols, group in groups.items():
                sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("feed_id", "key"))
                self.db.conn.executemany(
                    f"INSERT INTO entries ({', '.join(cols)}) VALUES "
                    f"({', '.join('?' * len(cols))}) ON CONFLICT(feed_id, key) DO UPDATE SET {sets}",
                    [[r[c] for c in cols] for r in group])

    # -- stories -------------------------------------------------------------------------------

    def story(self, story_id: str) -> dict | None:
        return self._one("select * from stories where id = ? limit 1", [story_id])

    def story_by_url(self, canonical: str) -> dict | None:
        return self._one("select * from stories where canonical_url = ? and "
                         "status = 'committed' limit 1", [canonical])

    def _one(self, sql: str, params: list) -> dict | None:
        """One row as a dict, with plain sqlite3 (these run for every entry of every poll;
        sqlite-utils' table helpers look the schema up on each call)."""
        cur = self.db.conn.execute(sql, params)
        row = cur.fetchone()
        return None if row is None else dict(zip((d[0] for d in cur.description), row))

    # -- reports (catalog.py, explain.py): every query the program makes lives in this module

    def stories_where(self, where: list[str], args: list) -> Iterator[dict]:
        """Stories matching every condition in `where` (fixed SQL from catalog.py), newest
        first."""
        return self.db.query(f"select * from stories where {' and '.join(where)} "
                             "order by number desc", args)

    def story_where(self, condition: str, arg: Any) -> dict | None:
        return self._one(f"select * from stories where {condition} limit 1", [arg])

    def committed_stories(self) -> list[dict]:
        return list(self.db.query("select * from stories where status = 'committed' "
                                  "order by number"))

    def appended_per_day(self, since_day: str) -> dict[str, int]:
        return {r["day"]: r["n"] for r in self.db.query(
            "select substr(fetched_at, 1, 10) as day, count(*) as n from stories "
            "where status = 'committed' and text_source != 'external' and fetched_at >= ? "
            "group by day", [since_day])}

    def latest_entry(self, canonical: str, link: str) -> dict | None:
        return self._one(
            "select e.*, f.url as feed_url from entries e left join feeds f on f.id = e.feed_id "
            "where e.canonical_url = ? or e.link = ? order by e.seen_at desc limit 1",
            [canonical, link])

    def rejected_entries(self, limit: int) -> list[dict]:
        return list(self.db.query(
            "select e.seen_at, e.score, e.title, e.reason, e.link, f.name as feed from entries e "
            "left join feeds f on f.id = e.feed_id where e.decision = 'rejected' "
            "order by e.seen_at desc, e.rowid desc limit ?", [limit]))

    def recent_candidates(self, limit: int) -> list[dict]:
        return list(self.db.query(
            "select title, summary, link, decision from entries where decision in "
            "('appended', 'rejected') order by seen_at desc limit ?", [limit]))

    def known_files(self) -> set[str]:
        return {r["file_name"] for r in self.db.query("select file_name from stories")}

    def add_external(self, file_name: str, number: int, story_id: str, title: str,
                     now: datetime) -> bool:
        """Register a corpus file this program did not write (a seed or a hand-added file)."""
        if self.story(story_id):
            return False
        with self.tx():
            self.db["stories"].insert({
                "id": story_id, "file_name": file_name, "number": number, "title": title,
                "text_source": "external", "status": "committed", "fetched_at": iso(now),
                "created_at": iso(now)})
        return True

    def begin_story(self, row: dict) -> None:
        """Journal an append before its file is written."""
        row = dict(row, status="pending")
        if isinstance(row.get("matched_terms"), (list, dict)):
            row["matched_terms"] = json.dumps(row["matched_terms"], ensure_ascii=False)
        with self.tx():
            self.db["stories"].insert(row)

    def commit_story(self, story_id: str, sighting: dict, entry: tuple[int, str, dict],
                     now: datetime, fingerprint: dict | None = None,
                     text: tuple[str, str] | None = None) -> None:
        """The file is on disk: mark the story committed, with its first sighting, its entry,
        its fingerprint and its full-text index row, in one transaction."""
        with self.tx():
            self.db["stories"].update(story_id, {"status": "committed"})
            if text:
                self.index_text(story_id, *text)
            if fingerprint:
                self.add_fingerprint(story_id, **fingerprint)
            self.add_sighting(story_id, **sighting, now=now)
            feed_id, key, values = entry
            self.record_entry(feed_id, key, dict(values, story_id=story_id), now)

    def add_sighting(self, story_id: str, feed_id: int | None, url: str | None,
                     entry_key: str | None, now: datetime) -> None:
        with self.tx():
            self.db.execute(
                "insert or ignore into sightings (story_id, feed_id, url, entry_key, seen_at) "
                "values (?, ?, ?, ?, ?)", [story_id, feed_id, url, entry_key, iso(now)])

    def sightings(self, story_id: str) -> list[dict]:
        return list(self.db["sightings"].rows_where("story_id = ?", [story_id], order_by="id"))

    # -- fingerprints (near-duplicate index) ---------------------------------------------------

    def add_fingerprint(self, story_id: str, signature: bytes, words: int, bands: list[int],
                        title_key: str | None, outlet: str | None, published: str | None) -> None:
        conn = self.db.conn
        with self.tx():
            # lsh is keyed (band_key, story_id): deleting by story_id alone scans all of it
            # (4 million rows at 100,000 stories), so only a story fingerprinted before, which
            # is rare, pays for it.
            if conn.execute("select 1 from fingerprints where story_id = ?",
                            [story_id]).fetchone():
                conn.execute("delete from lsh where story_id = ?", [story_id])
            conn.execute(
                "insert or replace into fingerprints (story_id, signature, words, title_key, "
                "outlet, published) values (?, ?, ?, ?, ?, ?)",
                [story_id, signature, words, title_key, outlet, published])
            self.db.conn.executemany("insert or ignore into lsh (band_key, story_id) values (?, ?)",
                                     [(k, story_id) for k in bands])

    def candidates(self, bands: list[int], limit: int = 200) -> list[dict]:
        """Stories sharing at least one LSH band, most shared bands first, with signatures."""
        marks = ",".join("?" * len(bands))
        return list(self.db.query(
            f"select f.story_id, f.signature, f.words, s.file_name, count(*) as shared "
            f"from lsh join fingerprints f on f.story_id = lsh.story_id "
            f"join stories s on s.id = f.story_id and s.status = 'committed' "
            f"where lsh.band_key in ({marks}) group by f.story_id order by shared desc limit ?",
            [*bands, limit]))

    def same_title(self, title_key: str, outlet: str | None, since: str) -> dict | None:
        """A story with this normalised title from the same outlet published since `since`."""
        rows = list(self.db.query(
            "select s.id, s.file_name, f.signature from fingerprints f "
            "join stories s on s.id = f.story_id "
            "where f.title_key = ? and f.outlet is ? and coalesce(f.published, s.fetched_at) >= ? "
            "and s.status = 'committed' limit 1", [title_key, outlet, since]))
        return rows[0] if rows else None

    def unfingerprinted(self) -> list[dict]:
        return list(self.db.query(
            "select s.id, s.file_name, s.outlet, s.link, s.published from stories s "
            "left join fingerprints f on f.story_id = s.id "
            "where s.status = 'committed' and f.story_id is null order by s.number"))

    def pending_stories(self) -> list[dict]:
        return list(self.db["stories"].rows_where("status = 'pending'"))

    def resolve_pending(self, story_id: str, file_exists: bool) -> None:
        """After a crash: a pending story whose file exists is committed, else forgotten."""
        with self.tx():
            if file_exists:
                row = self.story(story_id)
                self.db["stories"].update(story_id, {"status": "committed"})
                if row and row.get("link"):
                    self.add_sighting(story_id, row.get("feed_id"), row["link"], None,
                                      parse_iso(row.get("fetched_at")) or utcnow())
            else:
                self.db["stories"].delete(story_id)

    # -- digests -------------------------------------------------------------------------------

    def undigested(self) -> list[dict]:
        """Stories this program appended that are in no delivered digest, oldest first."""
        return list(self.db.query(
            "select s.*, f.name as feed_name, f.title as feed_title from stories s "
            "left join feeds f on f.id = s.feed_id "
            "where s.status = 'committed' and s.text_source != 'external' "
            "and s.id not in (select story_id from digested) order by s.number"))

    def story_sightings(self, story_ids: list[str]) -> dict[str, list[dict]]:
        """Every sighting of these stories, with the feed's name, by story."""
        out: dict[str, list[dict]] = {i: [] for i in story_ids}
        for chunk in range(0, len(story_ids), 500):
            ids = story_ids[chunk:chunk + 500]
            for r in self.db.query(
                    f"select g.*, f.name as feed_name, f.title as feed_title from sightings g "
                    f"left join feeds f on f.id = g.feed_id where g.story_id in "
                    f"({','.join('?' * len(ids))}) order by g.id", ids):
                out[r["story_id"]].append(r)
        return out

    def record_digest(self, row: dict, story_ids: list[str] = ()) -> int:
        """One digest attempt; for a delivered one, the stories it carried, in one transaction."""
        with self.tx():
            digest_id = self.db["digests"].insert(row).last_pk
            if story_ids:
                self.db["digested"].insert_all(
                    ({"story_id": i, "digest_id": digest_id} for i in story_ids))
        return digest_id

    def last_digest(self, statuses: tuple[str, ...] = ("delivered", "empty")) -> dict | None:
        rows = list(self.db.query(
            f"select * from digests where status in ({','.join('?' * len(statuses))}) "
            f"order by id desc limit 1", list(statuses)))
        return rows[0] if rows else None

    def last_handled_slot(self) -> str | None:
        """The latest scheduled digest time already dealt with (sent, or nothing to send)."""
        row = next(iter(self.db.query(
            "select max(slot) as slot from digests where status in ('delivered', 'empty')")))
        return row["slot"]

    def failed_attempts(self, slot: str) -> list[dict]:
        return list(self.db.query(
            "select * from digests where slot = ? and status = 'failed' order by id", [slot]))

    def get_meta(self, key: str) -> str | None:
        rows = list(self.db["meta"].rows_where("key = ?", [key]))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx():
            self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # -- full-text search ----------------------------------------------------------------------

    def index_text(self, story_id: str, title: str, body: str) -> None:
        conn = self.db.conn
        with self.tx():
            row = conn.execute("select fts_rowid from fts_rows where story_id = ?",
                               [story_id]).fetchone()
            if row:
                conn.execute("delete from search where rowid = ?", [row[0]])
            cur = conn.execute("insert into search (title, body, story_id) values (?, ?, ?)",
                               [title, body, story_id])
            conn.execute("insert or replace into fts_rows (story_id, fts_rowid) values (?, ?)",
                         [story_id, cur.lastrowid])

    def unindexed(self) -> list[dict]:
        return list(self.db.query(
            "select s.id, s.file_name from stories s left join fts_rows r on r.story_id = s.id "
            "where s.status = 'committed' and r.story_id is null order by s.number"))

    def search(self, query: str, limit: int = 20) -> list[dict]:
        """Stories matching every word of `query` (each word also as a prefix: Пхеньян finds
        Пхеньяне, 북한 finds 북한은), best first, with a snippet of the text."""
        words = re.findall(r"\w+", query)
        if not words:
            return []
        match = " ".join(f'"{w}"*' for w in words)
        return list(self.db.query(
            "select s.id, s.file_name, s.title, s.outlet, s.published, s.fetched_at, s.link, "
            "snippet(search, 1, '[', ']', '…', 12) as snippet, bm25(search, 5.0, 1.0) as rank "
            "from search join stories s on s.id = search.story_id "
            "where search match ? and s.status = 'committed' order by rank limit ?",
            [match, limit]))
