"""Near-duplicate index at scale: 100,000 stories in a real SQLite file through monitor.state.

Builds a synthetic corpus (story i is generated from a seed and i, so it can be regenerated at
any time without storing text): 300-800 words a story, paragraphs of 2-4 sentences; words drawn
from a 4,000-word general vocabulary with a Zipf-Mandelbrot distribution (p ~ 1/(rank+2.7)^1.07),
15 % from the story's topic (400 topics x 40 words from a 3,000-word topic vocabulary), and a
fifth of the sentences opening with one of 300 stock phrases ("said in a statement on", ...),
so unrelated stories share some shingles as real news does. Each story gets a `stories` row
(status 'committed') and its fingerprint (`fingerprints` row + dedup.BANDS `lsh` rows), written
with the same SQL as State.add_fingerprint: fingerprints computed in worker processes, rows
inserted in transactions of 10,000 stories (`with state.tx()`), the lsh rows at the end in one
transaction in key order; the last 1,000 stories go through State.add_fingerprint one by one,
as the pipeline adds them, and that cost is reported.

Then 1,000 checks (200 with --queries): half near-duplicates of stored stories (wire copy: byline
+ dateline, last paragraph dropped; update: +1 paragraph; UPDATE 2: +2 paragraphs; light rewrite:
~10-15 % of words swapped, a sentence dropped, a sentence moved), half new stories from the same
generator. A check = dedup.fingerprint(text) ["fingerprint"], then state.candidates(fp.bands())
and dedup.is_near_duplicate against every candidate ["lookup+verify"]; nothing is inserted, so a
database can be reused. Reported: latency median/p95/p99, candidates per check, recall of the
planted duplicates (found by the index at all; accepted by is_near_duplicate; accepted at other
thresholds), false alarms on the new stories, peak RSS, database size by table, and start-up
cost: opening State on the existing database in a fresh interpreter (time and bytes read) next
to opening an empty one.

    .venv/bin/python bench/dedup_scale.py                                # 100,000 stories, temp db
    .venv/bin/python bench/dedup_scale.py --stories 20000 --queries 200  # quick
    .venv/bin/python bench/dedup_scale.py --db /tmp/dedup100k.db         # build and keep the file
    .venv/bin/python bench/dedup_scale.py --db /tmp/dedup100k.db --reuse # skip the build

No network. The temporary database is deleted at the end; a --db file is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import dedup  # noqa: E402
from monitor.state import State  # noqa: E402

SEED = 20261125
MAX_STORIES = 1_000_000
MAX_QUERIES = 20_000
BATCH = 10_000
LIVE = 1_000                 # stories added one by one through State.add_fingerprint
NEW_BASE = 50_000_000        # generator index of the "new" query stories (never stored)
WARMUP = 10                  # checks run before the measured ones

# ---------------------------------------------------------------------------------- corpus

_SYL = ("ka ro mi ten sa lo vi dor pe nu ta rin be so la gu ne mar ti fo ha zel po ri den ku "
        "ma sel tu vo ar en il os um ba ce di ga he ji ko le mo ni pa qu re si to ve wa ye zo "
        "bran clo dre fli gro pla sti tra").split()


def _pseudo_words(n: int, rng: np.random.Generator, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        w = "".join(rng.choice(_SYL, size=int(rng.integers(1, 5))))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


class Corpus:
    """Deterministic story generator: story(i) is the same text for the same seed and i."""
    V, TOPIC_V, TOPICS, TOPIC_WORDS = 4000, 3000, 400, 40
    PHRASES, TOPIC_SENTENCES = 300, 12
    P_TOPIC, P_PHRASE, P_BOILER = 0.15, 0.40, 0.15

    def __init__(self, seed: int = SEED):
        self.seed = seed
        rng = np.random.default_rng([seed, 0xC0DE])
        taken: set[str] = set()
        self.vocab = np.array(_pseudo_words(self.V, rng, taken))
        topic_vocab = np.array(_pseudo_words(self.TOPIC_V, rng, taken))
        self.topics = np.stack([rng.choice(topic_vocab, self.TOPIC_WORDS, replace=False)
                                for _ in range(self.TOPICS)])
        weights = 1.0 / (np.arange(1, self.V + 1) + 2.7) ** 1.07
        self.cdf = np.cumsum(weights / weights.sum())
        self.cdf[-1] = 1.0
        # stock phrases ("said in a statement on"), some far more popular than others
        top = self.vocab[:1000]
        self.phrases = [rng.choice(top, size=int(rng.integers(4, 9))).tolist()
                        for _ in range(self.PHRASES)]
        pw = 1.0 / np.arange(1, self.PHRASES + 1)
        self.phrase_cdf = np.cumsum(pw / pw.sum())
        self.phrase_cdf[-1] = 1.0
        # per topic, boilerplate sentences that its stories repeat ("The Joint Chiefs of Staff
        # said North Korea fired ... into the East Sea")
        self.boiler = []
        for t in range(self.TOPICS):
            sub = np.random.default_rng([seed, 0xB0, t])
            self.boiler.append([self._words(sub, int(sub.integers(10, 21)), t)
                                for _ in range(self.TOPIC_SENTENCES)])

    def _words(self, rng: np.random.Generator, n: int, topic: int) -> list[str]:
        general = self.vocab[np.searchsorted(self.cdf, rng.random(n))]
        topical = self.topics[topic][rng.integers(0, self.TOPIC_WORDS, size=n)]
        return np.where(rng.random(n) < self.P_TOPIC, topical, general).tolist()

    def _paragraphs(self, rng: np.random.Generator, n_words: int, topic: int
                    ) -> list[list[list[str]]]:
        """Paragraphs of sentences of words (random draws made up front: quicker)."""
        words = self._words(rng, n_words, topic)
        m = n_words // 10 + 2                     # enough sentences and paragraphs
        lengths = rng.integers(12, 31, size=m).tolist()
        per_par = rng.integers(2, 5, size=m).tolist()
        kind = rng.random(m).tolist()
        boiler = rng.integers(self.TOPIC_SENTENCES, size=m).tolist()
        phrase = np.searchsorted(self.phrase_cdf, rng.random(m)).tolist()
        pars, pos, k = [], 0, 0
        for count in per_par:
            if pos >= n_words:
                break
            sents = []
            for _ in range(count):
                if pos >= n_words:
                    break
                if kind[k] < self.P_BOILER:
                    sent = list(self.boiler[topic][boiler[k]])
                else:
                    sent = words[pos:pos + lengths[k]]
                    if kind[k] < self.P_BOILER + self.P_PHRASE:
                        ph = self.phrases[phrase[k]]
                        sent[:len(ph)] = ph
                pos += len(sent)
                sents.append(sent)
                k += 1
            pars.append(sents)
        return pars

    def story(self, i: int) -> tuple[int, list[list[list[str]]]]:
        rng = np.random.default_rng([self.seed, i])
        topic = int(rng.integers(self.TOPICS))
        return topic, self._paragraphs(rng, int(rng.integers(300, 801)), topic)

    def extra_paragraph(self, rng: np.random.Generator, topic: int) -> list[list[str]]:
        return self._paragraphs(rng, int(rng.integers(40, 90)), topic)[0]

    @staticmethod
    def text(pars: list[list[list[str]]]) -> str:
        return "\n\n".join(" ".join(" ".join(s).capitalize() + "." for s in p) for p in pars)

    @staticmethod
    def tokens(pars: list[list[list[str]]]) -> list[str]:
        """What dedup.words(text(pars)) returns (lower-case ASCII words), without the text."""
        return [w for p in pars for s in p for w in s]


def story_key(i: int) -> str:
    return dedup.story_id(f"https://bench.invalid/story/{i}")


# ---------------------------------------------------------------------------------- variants

VARIANTS = ("wire", "update", "update2", "rewrite")


def variant(corpus: Corpus, i: int, kind: str, rng: np.random.Generator) -> str:
    topic, pars = corpus.story(i)
    pars = [[list(s) for s in p] for p in pars]
    if kind == "wire":
        pars = pars[:-1] if len(pars) > 1 else pars
        byline = [["by"] + corpus._words(rng, 2, topic)]
        pars[0][0] = corpus._words(rng, 3, topic) + ["reuters"] + pars[0][0]
        pars.insert(0, byline)
    elif kind in ("update", "update2"):
        for _ in range(1 if kind == "update" else 2):
            at = 1 if rng.random() < 0.5 else len(pars)
            pars.insert(at, corpus.extra_paragraph(rng, topic))
    elif kind == "rewrite":
        flat = [(pi, si) for pi, p in enumerate(pars) for si in range(len(p))]
        pi, si = flat[int(rng.integers(1, len(flat)))]          # drop one sentence (not the lede)
        dropped = len(pars[pi][si])
        del pars[pi][si]
        pars = [p for p in pars if p]
        p = pars[int(rng.integers(len(pars)))]                  # move one sentence
        if len(p) > 1:
            p.insert(int(rng.integers(len(p))), p.pop(int(rng.integers(len(p)))))
        total = sum(len(s) for p in pars for s in p) + dropped
        n_swap = max(0, int(rng.uniform(0.10, 0.15) * total) - dropped)
        where = [(pi, si, wi) for pi, p in enumerate(pars) for si, s in enumerate(p)
                 for wi in range(len(s))]
        for k in rng.choice(len(where), size=min(n_swap, len(where)), replace=False):
            pi, si, wi = where[int(k)]
            pars[pi][si][wi] = corpus.vocab[int(rng.integers(corpus.V))]
    return Corpus.text(pars)


# ---------------------------------------------------------------------------------- build

_CORPUS: Corpus | None = None


def _init_worker(seed: int) -> None:
    global _CORPUS
    _CORPUS = Corpus(seed)


def fast_fingerprint(tokens: list[str]) -> dedup.Fingerprint:
    """dedup.fingerprint's arithmetic on ready tokens, with a quicker shingle set (zip instead
    of slicing). Build only: every chunk checks its first story against dedup.fingerprint and
    falls back to it if they ever differ (monitor/dedup.py is being edited)."""
    k = dedup.SHINGLE
    if k != 3 or len(tokens) < 3:
        return dedup.fingerprint(" ".join(tokens))
    grams = {f"{a} {b} {c}" for a, b, c in zip(tokens, tokens[1:], tokens[2:])}
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
         for g in grams), dtype=np.uint64, count=len(grams))
    with np.errstate(over="ignore"):
        _, a, b = dedup._numpy()
        mixed = (hashes[None, :] * a[:, None] + b[:, None]) >> np.uint64(32)
    return dedup.Fingerprint(signature=mixed.min(axis=1).astype("<u4").tobytes(),
                             words=len(tokens))


def _fingerprint_range(span: tuple[int, int]) -> list[tuple[int, bytes, int, list[int]]]:
    assert _CORPUS is not None
    out = []
    exact = False
    for i in range(*span):
        pars = _CORPUS.story(i)[1]
        if i == span[0]:
            ref = dedup.fingerprint(Corpus.text(pars))
            exact = fast_fingerprint(Corpus.tokens(pars)) != ref
            fp = ref
        elif exact:
            fp = dedup.fingerprint(Corpus.text(pars))
        else:
            fp = fast_fingerprint(Corpus.tokens(pars))
        out.append((i, fp.signature, fp.words, fp.bands()))
    return out


def _story_row(i: int) -> tuple:
    return (story_key(i), f"{i + 1:06d}_bench.md", i + 1, "committed",
            "2026-01-01T00:00:00+00:00")


INSERT_STORY = ("insert into stories (id, file_name, number, status, created_at) "
                "values (?, ?, ?, ?, ?)")
INSERT_FP = ("insert or replace into fingerprints (story_id, signature, words, title_key, outlet, "
             "published) values (?, ?, ?, ?, ?, ?)")
INSERT_LSH = "insert or ignore into lsh (band_key, story_id) values (?, ?)"


def build(path: Path, n: int, seed: int, workers: int, max_seconds: float,
          cache_mib: int) -> dict:
    """stories + fingerprints rows in transactions of BATCH stories while the workers compute;
    the lsh rows of the bulk are kept in two numpy arrays and inserted at the end in one
    transaction in key order (random keys inserted batch by batch dirty every leaf page of the
    index each time: quadratic writing). Then the last LIVE stories through add_fingerprint."""
    state = State(path)
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    bulk = max(0, n - LIVE)
    spans = [(a, min(a + 500, n)) for a in range(0, n, 500)]
    done = 0
    fp_rows: dict[int, tuple] = {}
    live_times: list[float] = []
    flush_times: list[float] = []
    band_keys = np.empty(bulk * dedup.BANDS, dtype=np.int64)
    band_owner = np.empty(bulk * dedup.BANDS, dtype=np.int32)
    if cache_mib:
        state.db.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(seed,)) as pool:
        pending: list[tuple] = []

        def flush(rows: list[tuple]) -> None:
            t = time.perf_counter()
            with state.tx():
                state.db.conn.executemany(INSERT_STORY, [_story_row(i) for i, *_ in rows])
                state.db.conn.executemany(INSERT_FP, [(story_key(i), sig, w, None, "bench", None)
                                                      for i, sig, w, _ in rows])
            for i, _, _, bands in rows:
                band_keys[i * dedup.BANDS:(i + 1) * dedup.BANDS] = bands
                band_owner[i * dedup.BANDS:(i + 1) * dedup.BANDS] = i
            flush_times.append(time.perf_counter() - t)

        for chunk in pool.imap(_fingerprint_range, spans):
            for row in chunk:
                if row[0] < bulk:
                    pending.append(row)
                else:
                    fp_rows[row[0]] = row
            done += len(chunk)
            if len(pending) >= BATCH:
                flush(pending)
                pending = []
                el = time.perf_counter() - t0
                print(f"  fingerprinted {done:>7,}/{n:,}  {el:6.1f} s", flush=True)
                if el > max_seconds:
                    pool.terminate()
                    raise SystemExit(f"build exceeded --max-build-seconds={max_seconds:.0f}")
        if pending:
            flush(pending)
    t = time.perf_counter()
    ids = [story_key(i) for i in range(bulk)]
    order = np.argsort(band_keys, kind="stable")
    with state.tx():
        for part in np.array_split(order, max(1, len(order) // 100_000)):
            state.db.conn.executemany(INSERT_LSH, zip(band_keys[part].tolist(),
                                                      (ids[o] for o in band_owner[part].tolist())))
    lsh_s = time.perf_counter() - t
    del band_keys, band_owner, order, ids
    bulk_s = time.perf_counter() - t0
    # the last LIVE stories: the pipeline's path, one transaction a story
    with state.tx():
        state.db.conn.executemany(INSERT_STORY, [_story_row(i) for i in sorted(fp_rows)])
    for i in sorted(fp_rows):
        _, sig, w, bands = fp_rows[i]
        t = time.perf_counter()
        state.add_fingerprint(story_key(i), sig, w, bands, None, "bench", None)
        live_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    state.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint_s = time.perf_counter() - t
    state.close()
    cpu = sum(getattr(resource.getrusage(who), f) for who in
              (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
    return {"seconds": time.perf_counter() - t0, "bulk_seconds": bulk_s, "bulk": bulk,
            "cpu": cpu, "load": (load0, os.getloadavg()[0]),
            "live": live_times, "checkpoint": checkpoint_s, "flush": flush_times, "lsh": lsh_s}


# ---------------------------------------------------------------------------------- measures

def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def ms(v: float) -> str:
    return f"{v * 1000:8.2f}"


def sizes(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    files = {p.name: p.stat().st_size for p in path.parent.glob(path.name + "*")}
    tables: dict[str, int] = {}
    import sqlite3
    con = sqlite3.connect(str(path))
    try:
        for name, size in con.execute("select name, sum(pgsize) from dbstat group by name"):
            tables[name] = size
    except sqlite3.Error:
        pass
    finally:
        con.close()
    return files, tables


STARTUP = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
def rchar():
    try:
        for line in open('/proc/self/io'):
            if line.startswith('rchar:'):
                return int(line.split()[1])
    except OSError:
        return -1
t = time.perf_counter()
from monitor.state import State
from monitor import dedup
t_import = time.perf_counter() - t
fp = dedup.fingerprint(sys.argv[3])
r0 = rchar(); t = time.perf_counter()
state = State(sys.argv[2])
t_open = time.perf_counter() - t; r1 = rchar()
t = time.perf_counter()
cands = state.candidates(fp.bands())
t_first = time.perf_counter() - t; r2 = rchar()
state.close()
r3 = rchar(); t = time.perf_counter()
State(sys.argv[2]).close()
t_again = time.perf_counter() - t; r4 = rchar()
print(json.dumps({"import": t_import, "open": t_open, "open_read": r1 - r0,
                  "first_lookup": t_first, "first_lookup_read": r2 - r1,
                  "again": t_again, "again_read": r4 - r3, "candidates": len(cands)}))
"""


def startup(path: Path, probe: str, runs: int = 5) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", STARTUP, str(ROOT), str(path), probe],
                             capture_output=True, text=True, timeout=120, check=True)
        results.append(json.loads(out.stdout))
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


@dataclass
class Check:
    kind: str                  # a variant name or "new"
    source: int | None
    fp_s: float
    lookup_s: float
    candidates: int
    found: bool                # the source story among the candidates
    sim: float                 # estimated similarity to the source (0 if not a candidate)
    accepted: bool             # is_near_duplicate accepted the source
    others: list[tuple[float, bool]]   # (similarity, accepted) of the other candidates


def run_checks(path: Path, n: int, queries: int, seed: int) -> tuple[list[Check], list[str]]:
    corpus = Corpus(seed)
    rng = np.random.default_rng([seed, 0x9E7])
    state = State(path)
    jobs: list[tuple[str, int | None, str]] = []
    sources = rng.choice(n, size=queries // 2, replace=False)
    for j, src in enumerate(sources):
        kind = VARIANTS[j % len(VARIANTS)]
        jobs.append((kind, int(src), variant(corpus, int(src), kind, rng)))
    for j in range(queries - len(jobs)):
        jobs.append(("new", None, Corpus.text(corpus.story(NEW_BASE + j)[1])))
    order = rng.permutation(len(jobs))
    plan = [r["detail"] for r in state.db.query(
        "explain query plan select f.story_id, f.signature, f.words, s.file_name, count(*) as "
        "shared from lsh join fingerprints f on f.story_id = lsh.story_id join stories s on "
        "s.id = f.story_id and s.status = 'committed' where lsh.band_key in (?, ?) group by "
        "f.story_id order by shared desc limit ?", [1, 2, 200])]
    for kind, src, text in jobs[:WARMUP]:          # warm-up, not counted
        fp = dedup.fingerprint(text)
        state.candidates(fp.bands())
    checks: list[Check] = []
    for idx in order:
        kind, src, text = jobs[int(idx)]
        t0 = time.perf_counter()
        fp = dedup.fingerprint(text)
        t1 = time.perf_counter()
        cands = state.candidates(fp.bands())
        verdicts = []
        for c in cands:
            other = dedup.Fingerprint(signature=c["signature"], words=c["words"])
            verdicts.append((c["story_id"], *dedup.is_near_duplicate(fp, other)))
        t2 = time.perf_counter()
        key = story_key(src) if src is not None else None
        mine = [v for v in verdicts if v[0] == key]
        checks.append(Check(kind, src, t1 - t0, t2 - t1, len(cands), bool(mine),
                            mine[0][2] if mine else 0.0, bool(mine and mine[0][1]),
                            [(v[2], v[1]) for v in verdicts if v[0] != key]))
    state.close()
    return checks, plan


def background(corpus: Corpus, pairs: int = 200) -> list[float]:
    """Exact 3-shingle Jaccard of random pairs of stored stories."""
    rng = np.random.default_rng([corpus.seed, 0xBA5E])
    out = []
    for _ in range(pairs):
        a, b = (int(x) for x in rng.integers(0, 10_000_000, size=2))
        sa, sb = (set(zip(*(t[k:] for k in range(3)))) for t in
                  (dedup.words(Corpus.text(corpus.story(x)[1])) for x in (a, b)))
        out.append(len(sa & sb) / len(sa | sb))
    return out


# ---------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stories", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--db", type=Path, help="database file (default: a temporary file, deleted)")
    ap.add_argument("--reuse", action="store_true",
                    help="use the --db file as it is when it holds --stories stories")
    ap.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--max-build-seconds", type=float, default=900)
    ap.add_argument("--build-cache-mib", type=int, default=0,
                    help="SQLite page cache for the build connection (default: SQLite's 2 MiB)")
    args = ap.parse_args(argv)
    if not 1_000 <= args.stories <= MAX_STORIES:
        ap.error(f"--stories must be between 1,000 and {MAX_STORIES:,}")
    if not 10 <= args.queries <= MAX_QUERIES:
        ap.error(f"--queries must be between 10 and {MAX_QUERIES:,}")
    if args.reuse and not args.db:
        ap.error("--reuse needs --db")
    tmpdir = None
    if args.db:
        path = args.db.resolve()
    else:
        tmpdir = Path(tempfile.mkdtemp(prefix="dedup_scale_"))
        path = tmpdir / "state.db"
    try:
        return _run(args, path)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _run(args: argparse.Namespace, path: Path) -> int:
    n = args.stories
    print(f"monitor.dedup: SHINGLE={dedup.SHINGLE} PERMUTATIONS={dedup.PERMUTATIONS} "
          f"ROWS={dedup.ROWS} BANDS={dedup.BANDS} NEAR_DUPLICATE={dedup.NEAR_DUPLICATE} "
          f"NEAR_DUPLICATE_SHORT={dedup.NEAR_DUPLICATE_SHORT}; database {path}")
    built = None
    if args.reuse and path.exists():
        import sqlite3
        con = sqlite3.connect(str(path))
        have = con.execute("select count(*) from stories").fetchone()[0]
        last = con.execute("select 1 from stories where id = ?", [story_key(n - 1)]).fetchone()
        con.close()
        if have != n or not last:
            print(f"--reuse: {path} holds {have:,} stories, not the {n:,} of this seed; "
                  "remove it or drop --reuse")
            return 2
        print(f"reusing {path} ({n:,} stories)")
    else:
        if path.exists():
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
        print(f"building {n:,} stories with {args.workers} worker processes ...")
        built = build(path, n, args.seed, args.workers, args.max_build_seconds,
                      args.build_cache_mib)

    files, tables = sizes(path)
    corpus = Corpus(args.seed)
    probe = variant(corpus, 0, "update", np.random.default_rng(1))
    empty_dir = Path(tempfile.mkdtemp(prefix="dedup_scale_empty_"))
    try:
        State(empty_dir / "empty.db").close()
        start_empty = startup(empty_dir / "empty.db", probe)
    finally:
        shutil.rmtree(empty_dir, ignore_errors=True)
    start_full = startup(path, probe)
    t = time.perf_counter()
    st = State(path)
    unfp = st.unfingerprinted()
    unfp_s = time.perf_counter() - t
    st.close()

    print(f"running {args.queries:,} checks ...", flush=True)
    t = time.perf_counter()
    checks, plan = run_checks(path, n, args.queries, args.seed)
    checks_s = time.perf_counter() - t
    bg = background(corpus)

    # ------------------------------------------------------------------ report
    print("\n== Build")
    if built:
        live = built["live"]
        print(f"  total {built['seconds']:.1f} s wall, {built['cpu']:.0f} s CPU (all processes); "
              f"load average {built['load'][0]:.1f} before, {built['load'][1]:.1f} after, "
              f"{os.cpu_count()} CPUs")
        print(f"  {n:,} stories generated and fingerprinted by {args.workers} processes, "
              f"{built['bulk']:,} of them inserted in bulk: {built['bulk_seconds']:.1f} s "
              f"({built['bulk_seconds'] / n * 1e3:.2f} ms a story); final checkpoint "
              f"{built['checkpoint']:.2f} s")
        print(f"  SQLite: stories + fingerprints rows, {len(built['flush'])} transactions: "
              f"{sum(built['flush']):.1f} s; lsh rows ({built['bulk'] * dedup.BANDS:,}, one "
              f"transaction in key order): {built['lsh']:.1f} s")
        print(f"  State.add_fingerprint one story a transaction ({len(live)} stories): median "
              f"{statistics.median(live) * 1e3:.2f} ms, p95 {pct(live, 95) * 1e3:.2f} ms, "
              f"p99 {pct(live, 99) * 1e3:.2f} ms")
    else:
        print("  skipped (--reuse)")
    print(f"  background: exact 3-shingle Jaccard of 200 random stored-story pairs: median "
          f"{statistics.median(bg):.4f}, p99 {pct(bg, 99):.4f}, max {max(bg):.4f} "
          "(random real pairs in bench/near_dup.py: articles p99 0.007, KCNA p99 0.08)")

    print("\n== Database on disk")
    total = sum(files.values())
    for name, size in sorted(files.items()):
        print(f"  {name:28} {size / 2**20:9.1f} MiB")
    print(f"  {'total':28} {total / 2**20:9.1f} MiB = {total / n:,.0f} bytes a story")
    if tables:
        print("  by table/index (dbstat):")
        for name, size in sorted(tables.items(), key=lambda x: -x[1])[:8]:
            print(f"    {name:34} {size / 2**20:9.1f} MiB  {size / n:7,.0f} B/story")

    print("\n== Start-up (fresh interpreter, median of 5; OS page cache warm)")
    print(f"  {'':34} {'empty db':>12} {f'{n:,} stories':>16}")
    print(f"  {'import monitor.state':34} {start_empty['import'] * 1e3:>9.1f} ms "
          f"{start_full['import'] * 1e3:>13.1f} ms")
    print(f"  {'State(path)':34} {start_empty['open'] * 1e3:>9.1f} ms "
          f"{start_full['open'] * 1e3:>13.1f} ms")
    print(f"  {'  bytes read by State(path)':34} {start_empty['open_read']:>12,} "
          f"{start_full['open_read']:>16,}")
    print(f"  {'State(path) again, same process':34} {start_empty['again'] * 1e3:>9.1f} ms "
          f"{start_full['again'] * 1e3:>13.1f} ms")
    print(f"  {'  bytes read':34} {start_empty['again_read']:>12,} "
          f"{start_full['again_read']:>16,}")
    print(f"  {'first candidates() query':34} {start_empty['first_lookup'] * 1e3:>9.1f} ms "
          f"{start_full['first_lookup'] * 1e3:>13.1f} ms")
    print(f"  {'  bytes read by it':34} {start_empty['first_lookup_read']:>12,} "
          f"{start_full['first_lookup_read']:>16,}")
    print(f"  State.unfingerprinted() on the full database: {unfp_s * 1e3:.1f} ms "
          f"({len(unfp)} rows) - a scan, if anything calls it at start-up")

    print(f"\n== Checks: {len(checks):,} in {checks_s:.1f} s after {WARMUP} warm-up checks "
          f"(candidates() limit 200)")
    print(f"  {'':24} {'median':>8} {'p95':>8} {'p99':>8} {'max':>8}   ms")
    for label, vals in (("fingerprint", [c.fp_s for c in checks]),
                        ("lookup+verify", [c.lookup_s for c in checks]),
                        ("  for duplicates", [c.lookup_s for c in checks if c.source is not None]),
                        ("  for new stories", [c.lookup_s for c in checks if c.source is None]),
                        ("total", [c.fp_s + c.lookup_s for c in checks])):
        print(f"  {label:24} {ms(statistics.median(vals))} {ms(pct(vals, 95))} "
              f"{ms(pct(vals, 99))} {ms(max(vals))}")
    cn = [c.candidates for c in checks]
    print(f"  candidates a check: median {statistics.median(cn):.0f}, p95 {pct(cn, 95)}, "
          f"p99 {pct(cn, 99)}, max {max(cn)}; checks that hit the limit of 200: "
          f"{sum(1 for x in cn if x >= 200)}")
    print(f"  query plan of candidates(): " + " | ".join(plan))

    print("\n== Recall of the planted near-duplicates (source story found / accepted)")
    thresholds = (0.35, 0.4, 0.45, 0.5)
    print(f"  {'variant':10} {'n':>4} {'sim to source min/med/max':>26} {'in candidates':>13} "
          f"{'accepted':>9} " + " ".join(f"{f'>= {t}':>7}" for t in thresholds))
    for kind in VARIANTS + ("all",):
        cs = [c for c in checks if c.source is not None and kind in (c.kind, "all")]
        sims = [c.sim for c in cs]
        print(f"  {kind:10} {len(cs):>4} "
              f"{f'{min(sims):.2f}/{statistics.median(sims):.2f}/{max(sims):.2f}':>26} "
              f"{sum(c.found for c in cs) / len(cs):>13.1%} "
              f"{sum(c.accepted for c in cs) / len(cs):>9.1%} "
              + " ".join(f"{sum(c.sim >= t for c in cs) / len(cs):>7.1%}" for t in thresholds))
    new = [c for c in checks if c.source is None]
    planted = [c for c in checks if c.source is not None]
    fa = [max((s for s, _ in c.others), default=0.0) for c in new]
    print(f"  new stories accepted as a duplicate of something (false alarms): "
          f"{sum(1 for c in new if any(d for _, d in c.others))}/{len(new)}; highest "
          f"similarity of a new story to any candidate: median {statistics.median(fa):.2f}, "
          f"p99 {pct(fa, 99):.2f}, max {max(fa):.2f}")
    wrong = sum(1 for c in planted if any(d for _, d in c.others))
    print(f"  planted duplicates also accepted against another story: {wrong}/{len(planted)}")

    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\n== Peak RSS: this process {self_rss:.0f} MiB; largest child (build workers, "
          f"start-up probes) {child_rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
