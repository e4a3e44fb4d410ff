"""Helpers for the crash and concurrency tests: many distinct on-topic stories served from a real
HTTP server on 127.0.0.1, the real CLI started as a child process (optionally with the critical
section of an append widened by sleeps, so a random kill lands inside it often), and one function
that checks every invariant the corpus and the database must hold after any kill and restart."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.dedup import canonical_url, story_id
from tests.conftest import ROOT, SEEDS, article_page, rss

NAME_RE = re.compile(r"^(\d{3,})_([0-9a-f]{16})\.txt$")
TEMP_PREFIX = ".monitor-tmp-"
SEED_BYTES = {p.name: p.read_bytes() for p in SEEDS.glob("*.txt")}
FIRST_NEW = max(int(NAME_RE.match(n).group(1)) for n in SEED_BYTES) + 1   # 004 with the seeds

_WORDS = ("delegation", "railway", "harbour", "shipment", "artillery", "envoy", "summit", "grain",
          "pipeline", "satellite", "ministry", "exchange", "bridge", "border", "tourism", "fuel",
          "engineers", "negotiators", "agreement", "inspection", "customs", "ferry", "airline",
          "students", "scholarship", "hospital", "factory", "contract", "convoy", "warehouse",
          "observers", "rehearsal", "memorandum", "reservoir", "coal", "fishing", "lumber",
          "telegraph", "orchestra", "museum", "ambassador", "cargo", "timber", "freight")


@dataclass(frozen=True)
class Story:
    n: int
    title: str
    paragraphs: tuple[str, ...]
    path: str

    @property
    def text(self) -> str:
        """What the corpus file must hold, exactly: the title, then one paragraph per line."""
        return "\n".join((self.title,) + self.paragraphs)


def make_stories(count: int = 40, tag: str = "") -> list[Story]:
    """`count` distinct stories that all name both sides (Putin, Kim Jong Un, Pyongyang...).
    Every paragraph is unique text of more than 200 characters (the extractor de-duplicates
    repeated paragraphs across pages, so nothing may repeat)."""
    out = []
    for n in range(count):
        rng = random.Random(f"story-{tag}-{n}")
        paras = []
        for k in range(3):
            words = " ".join(rng.choice(_WORDS) for _ in range(14))
            paras.append(
                f"Report {n}-{k}{tag}: officials in Pyongyang and Moscow described talks on the "
                f"{words}, according to statement number {n * 10 + k} issued after Vladimir "
                f"Putin and Kim Jong Un reviewed the plans for the coming season.")
        assert all(len(p) > 200 for p in paras)
        out.append(Story(n, f"Putin and Kim Jong Un agree new plan, item {n}{tag}", tuple(paras),
                         f"/news/{tag or 'x'}/item-{n}"))
    return out


def serve(server, stories: list[Story], page_delay: float = 0.0) -> dict[str, Story]:
    """Serve every story's article page; returns {canonical URL: story}."""
    by_url = {}
    for s in stories:
        url = server.add(s.path, article_page(s.title, list(s.paragraphs)),
                         content_type="text/html; charset=utf-8", delay=page_delay)
        by_url[canonical_url(url)] = s
    return by_url


def rss_of(server, stories: list[Story], path: str = "", title: str = "Test Feed",
           link_suffix: str = "") -> str:
    """An RSS document with one item per story, linking to its page; guids `PATH#n`."""
    items = [{"title": s.title, "link": server.url(s.path) + link_suffix,
              "guid": f"{path}#{s.n}", "description": s.paragraphs[0][:120]} for s in stories]
    return rss(items, title=title)


def feed(server, path: str, stories: list[Story], title: str = "Test Feed",
         link_suffix: str = "") -> str:
    """Serve the feed of `stories` at `path`; returns its URL."""
    return server.add(path, rss_of(server, stories, path, title, link_suffix))


# -- running the CLI ---------------------------------------------------------------------------

# Fault injection, for the child process only; the program itself is not changed.
# MONITOR_TEST_SLOW=D widens each stage of an append by D seconds: after the pending row is
# committed (no file yet), before the hard link (temp file only), after it (temp file and final
# file), and before the row is flipped to committed — so a random kill often lands inside one.
# MONITOR_TEST_KILL=STAGE:K makes the process SIGKILL itself at STAGE of its K-th append
# ("journalled", "temp", "linked", "written" — the four moments just listed) or of its K-th
# pending row resolved at start-up ("recovering").
FAULT_WRAPPER = r"""
import os, signal, sys, time
d = float(os.environ.get("MONITOR_TEST_SLOW") or 0)
stage, _, k = (os.environ.get("MONITOR_TEST_KILL") or "none:0").partition(":")
seen = {}
def at(name):
    if name == stage:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == int(k):
            os.kill(os.getpid(), signal.SIGKILL)
import monitor.state as st
_begin, _commit, _resolve, _link = (st.State.begin_story, st.State.commit_story,
                                    st.State.resolve_pending, os.link)
def begin_story(self, *a, **kw):
    r = _begin(self, *a, **kw); time.sleep(d); at("journalled"); return r
def commit_story(self, *a, **kw):
    time.sleep(d); at("written"); return _commit(self, *a, **kw)
def resolve_pending(self, *a, **kw):
    at("recovering"); return _resolve(self, *a, **kw)
def link(*a, **kw):
    time.sleep(d); at("temp"); r = _link(*a, **kw); time.sleep(d); at("linked"); return r
st.State.begin_story, st.State.commit_story, st.State.resolve_pending = (
    begin_story, commit_story, resolve_pending)
os.link = link
from monitor.cli import main
sys.argv[0] = "monitor"
raise SystemExit(main())
"""


def child_env() -> dict:
    """The environment of a monitor child process. Bytecode is cached outside the repository
    (the tests start some hundred interpreters; compiling `monitor` afresh each time is slow)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "monitor-tests-pycache"),
           # a child that dies of a signal (one CI run saw SIGBUS, -7, with empty output) prints
           # its Python stack to stderr, which the failing assertion shows
           "PYTHONFAULTHANDLER": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m monitor -c CONFIG ARGS...` to completion (as conftest.run_cli does)."""
    return subprocess.run([sys.executable, "-m", "monitor", "-c", str(config), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=str(ROOT),
                          env=child_env(), stdin=subprocess.DEVNULL)


def start(config: Path, *args: str, log: Path, slow: float = 0.0,
          kill_at: str | None = None) -> subprocess.Popen:
    """Start `python -m monitor -c CONFIG ARGS...`, or the same through FAULT_WRAPPER."""
    env = child_env()
    if slow or kill_at:
        env.update(MONITOR_TEST_SLOW=str(slow), MONITOR_TEST_KILL=kill_at or "")
        cmd = [sys.executable, "-c", FAULT_WRAPPER, "-c", str(config), *args]
    else:
        cmd = [sys.executable, "-m", "monitor", "-c", str(config), *args]
    out = open(log, "ab")
    try:
        return subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        out.close()   # the child has its own copy


def finish(proc: subprocess.Popen, timeout: float) -> int:
    """Wait for `proc` at most `timeout` s; kill it (by its own pid) if it overruns."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def count_new(corpus: Path) -> int:
    return sum(1 for n in os.listdir(corpus) if NAME_RE.match(n) and n not in SEED_BYTES)


def wait_for_files(corpus: Path, proc: subprocess.Popen, k: int, deadline: float) -> None:
    """Until the corpus holds `k` new files, `proc` exits, or `deadline` (monotonic) passes."""
    while count_new(corpus) < k and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)


# -- the invariants ----------------------------------------------------------------------------


def rows(db: Path, sql: str, args=()) -> list[dict]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def check(corpus: Path, db: Path, by_url: dict[str, Story], *, complete: bool,
          foreign_ok: bool = False) -> dict[str, str]:
    """Assert that corpus and database agree after any kill and restart; returns
    {file name: story title} for the non-seed files. `complete`: every story of `by_url` must be
    present (exactly once). `foreign_ok`: files another database wrote may be registered here as
    external (two databases, one corpus)."""
    names = sorted(os.listdir(corpus))
    assert not [n for n in names if n.startswith(TEMP_PREFIX)], f"temp files left: {names}"
    files = {n: NAME_RE.match(n) for n in names if NAME_RE.match(n)}
    stories = rows(db, "select * from stories")
    assert not [r for r in stories if r["status"] != "committed"], \
        f"rows not committed: {[r for r in stories if r['status'] != 'committed']}"
    by_file: dict[str, list[dict]] = {}
    for r in stories:
        by_file.setdefault(r["file_name"], []).append(r)
    # every file has exactly one row, every row has its file, and they agree on number and id
    assert sorted(by_file) == sorted(files), (
        f"files without a row: {sorted(set(files) - set(by_file))}; "
        f"rows without a file: {sorted(set(by_file) - set(files))}")
    for name, m in files.items():
        (r,) = by_file[name]
        assert (r["number"], r["id"]) == (int(m.group(1)), m.group(2)), (name, r)
    numbers = [int(m.group(1)) for m in files.values()]
    assert len(numbers) == len(set(numbers)), f"two files share a number: {names}"
    ids = [m.group(2) for m in files.values()]
    assert len(ids) == len(set(ids)), f"two files share a story id: {names}"
    urls = [r["canonical_url"] for r in stories if r["canonical_url"]]
    assert len(urls) == len(set(urls)), "two stories share a canonical URL"
    # the seeds are untouched, byte for byte
    for name, data in SEED_BYTES.items():
        assert (corpus / name).read_bytes() == data, f"seed {name} changed"
    # every other file is one whole story, the one its row and its id say it is
    titles: dict[str, str] = {}
    by_title = {s.title: (u, s) for u, s in by_url.items()}
    for name, m in files.items():
        if name in SEED_BYTES:
            continue
        text = (corpus / name).read_text(encoding="utf-8")
        assert text, f"{name} is empty"
        first = text.split("\n", 1)[0]
        assert first in by_title, f"{name}: unknown first line {first!r}"
        url, s = by_title[first]
        assert text == s.text, f"{name} is not the whole story {s.n}:\n{text!r}\n!=\n{s.text!r}"
        assert m.group(2) == story_id(url), f"{name}: id is not the story id of {url}"
        (r,) = by_file[name]
        if r["text_source"] == "external":
            assert foreign_ok, f"{name} was written by monitor but registered as external: {r}"
        else:
            assert r["canonical_url"] == url and r["title"] == s.title, (name, r)
        titles[name] = first
    assert len(set(titles.values())) == len(titles), \
        f"a story is in the corpus twice: {sorted(titles.items(), key=lambda kv: kv[1])}"
    # numbers are handed out one above the highest: no gaps after the seeds
    new_numbers = sorted(int(files[n].group(1)) for n in titles)
    assert new_numbers == list(range(FIRST_NEW, FIRST_NEW + len(titles))), new_numbers
    if complete:
        missing = {s.title for s in by_url.values()} - set(titles.values())
        assert not missing, f"{len(missing)} stories missing: {sorted(missing)[:5]}"
    return titles


def make_corpus(directory: Path) -> Path:
    """A corpus directory holding the seed files."""
    corpus = directory / "corpus"
    corpus.mkdir(parents=True)
    for name, data in SEED_BYTES.items():
        (corpus / name).write_bytes(data)
    return corpus


def journal_state(corpus: Path, db: Path, by_url: dict[str, Story]) -> str:
    """Right after a kill, before any restart: check the journal's own invariants and say which
    moment of an append the kill hit. A file is never on disk without its row (the pending row
    is committed first), a committed row always has its file, there is at most one append in
    flight, and no file is ever partial."""
    names = os.listdir(corpus)
    temps = [n for n in names if n.startswith(TEMP_PREFIX)]
    new = {n for n in names if NAME_RE.match(n) and n not in SEED_BYTES}
    texts = {s.text for s in by_url.values()}
    for n in new:
        assert (corpus / n).read_text(encoding="utf-8") in texts, f"partial file {n} after a kill"
    if not db.exists():
        assert not new and not temps, (new, temps)
        return "no database yet"
    try:
        all_rows = rows(db, "select file_name, status from stories")
    except sqlite3.OperationalError as e:   # killed before the schema was created
        assert not new and not temps, (e, new, temps)
        return "no schema yet"
    pending = [r["file_name"] for r in all_rows if r["status"] == "pending"]
    committed = {r["file_name"] for r in all_rows if r["status"] == "committed"}
    assert len(pending) <= 1, f"{len(pending)} appends in flight at once: {pending}"
    assert new <= committed | set(pending), f"files without a row: {new - committed - set(pending)}"
    assert {f for f in committed if f not in SEED_BYTES} <= new, \
        f"committed rows without a file: {committed - new - set(SEED_BYTES)}"
    assert len(temps) <= 1, temps
    if temps:
        assert pending and temps[0].endswith(pending[0]), (temps, pending)
        return "temp file" + (" and final file" if pending[0] in new else "")
    if pending:
        return "pending, file written" if pending[0] in new else "pending, no file"
    return "between appends"
