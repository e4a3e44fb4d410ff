"""Benchmark `monitor poll` against a local feed farm (bench/farm.py) on 127.0.0.1..127.0.0.H.

Three scenarios, each the median of R runs, every run a fresh `monitor poll` subprocess:
  cold         empty state (a fresh temp dir: config, corpus with the seed files, no database)
  warm         the state of the last cold run, nothing changed on the farm (all 304s)
  incremental  the same state, after the farm published new items in --changed (5 %) of the feeds
plus a naive baseline: one subprocess that loops over the same feeds sequentially with
httpx.get + feedparser.parse(bytes) (cold; it neither fetches pages nor classifies).

Per run: wall time, CPU user+sys and peak RSS of the child (os.wait4), requests the farm served
(and how many were feeds / pages / 304s), stories appended (new files in the corpus), failures.

    .venv/bin/python bench/poll_bench.py --feeds 200 --items 20 --latency-ms 50

Bounded: the farm stops itself after --time-limit (+ a grace); every child is killed at its own
timeout or at the overall deadline, whichever is first; every loop is counted. Standard library
plus the project's own dependencies (httpx, feedparser) for the baseline child.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from farm import Farm  # noqa: E402

SEED_DIRS = [ROOT.parent / "shared" / "seeds", Path("/work/shared/seeds"), ROOT / "seeds"]
SUMMARY_RE = re.compile(r"polled (\d+) feeds in ([\d.]+)s: (\d+) new stories, (\d+) duplicates, "
                        r"(\d+) off-topic, (\d+) seen before, (\d+) unchanged, (\d+) failed")

BASELINE_CHILD = r"""
import sys, feedparser
urls = [u.strip() for u in open(sys.argv[1], encoding="utf-8") if u.strip()]
ok = entries = failed = 0
for u in urls:                      # bounded: one pass over the list
    try:
        d = feedparser.parse(u)     # feedparser's own urllib fetch, one feed after another
        entries += len(d.entries)
        ok += 1 if d.get("version") else 0
        failed += 0 if d.get("version") else 1
    except Exception as e:          # noqa: BLE001
        failed += 1
print(f"baseline: {ok} feeds, {entries} entries, {failed} failed")
"""

# The peer `reader` (PyPI), run from its own virtualenv (--peer-python): "add" registers the feeds
# (not timed), "update" is one timed update of every feed with its update workers.
READER_CHILD = r"""
import sys
from reader import make_reader
db, urls, workers, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
r = make_reader(db)
if mode == "add":
    for u in open(urls, encoding="utf-8"):
        if u.strip():
            r.add_feed(u.strip(), exist_ok=True)
else:
    r.update_feeds(scheduled=False, workers=workers)
    bad = sum(1 for f in r.get_feeds() if f.last_exception)
    print(f"baseline: {r.get_entry_counts().total} entries, {bad} failed")
r.close()
"""


@dataclass
class Run:
    mode: str
    wall: float = 0.0
    cpu: float = 0.0
    user: float = 0.0
    sys: float = 0.0
    rss_mb: float = 0.0
    requests: int = 0
    feed_requests: int = 0
    page_requests: int = 0
    not_modified: int = 0
    max_open_conns: int = 0
    avg_in_flight: float = 0.0   # farm busy seconds / wall: the concurrency the client achieved
    appended: int = 0
    expected: int | None = None
    failed: int = 0
    exit: int | None = None
    timed_out: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict)


def find_seeds() -> Path:
    for d in SEED_DIRS:
        if d.is_dir() and list(d.glob("*.txt")):
            return d
    raise SystemExit("no seed directory found (looked in: " + ", ".join(map(str, SEED_DIRS)) + ")")


def make_state(base: Path, feeds: list[str], seeds: Path, args) -> Path:
    """A fresh state dir: config.yaml, corpus/ with the seed files, no database yet."""
    d = Path(tempfile.mkdtemp(prefix="state-", dir=base))
    corpus = d / "corpus"
    corpus.mkdir()
    for f in sorted(seeds.glob("*.txt")):
        shutil.copy(f, corpus / f.name)
    lines = ["corpus_dir: corpus", "database: state.db", "interval: 15m"]
    if args.concurrency:
        lines.append(f"concurrency: {args.concurrency}")
    if args.per_host:
        lines.append(f"per_host: {args.per_host}")
    lines += ["timeouts:", "  connect: 10s", "  read: 30s", "  total: 60s", "feeds:"]
    lines += [f"  - url: {u}" for u in feeds]
    (d / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def corpus_count(state: Path) -> int:
    return sum(1 for _ in (state / "corpus").glob("*.txt"))


class Budget:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def run_child(cmd: list[str], cwd: Path, timeout: float, log_prefix: Path,
              env: dict | None = None) -> dict:
    """Start `cmd`, reap it with os.wait4 (its own rusage, exactly), kill it at `timeout`."""
    out = open(f"{log_prefix}.out", "wb")
    err = open(f"{log_prefix}.err", "wb")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    box: dict = {}

    def reap() -> None:
        _, status, ru = os.wait4(proc.pid, 0)
        box.update(end=time.monotonic(), status=status, ru=ru)

    t = threading.Thread(target=reap, daemon=True)
    t.start()
    t.join(max(0.0, timeout))
    timed_out = t.is_alive()
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # its own session: only what we started
        except ProcessLookupError:
            pass
        t.join(10.0)
    out.close()
    err.close()
    proc.returncode = os.waitstatus_to_exitcode(box["status"]) if "status" in box else -9
    ru = box.get("ru")
    return {"wall": box.get("end", time.monotonic()) - start,
            "user": ru.ru_utime if ru else 0.0, "sys": ru.ru_stime if ru else 0.0,
            "rss_kb": ru.ru_maxrss if ru else 0, "exit": proc.returncode, "timed_out": timed_out,
            "stdout": Path(f"{log_prefix}.out").read_text(errors="replace"),
            "stderr": Path(f"{log_prefix}.err").read_text(errors="replace")}


def measure(mode: str, farm: Farm, cmd: list[str], cwd: Path, timeout: float, log_prefix: Path,
            state: Path | None = None, expected: int | None = None,
            env: dict | None = None) -> Run:
    before_files = corpus_count(state) if state else 0
    s0 = farm.snapshot()
    c = run_child(cmd, cwd, timeout, log_prefix, env)
    s1 = farm.snapshot()
    r = Run(mode=mode, wall=c["wall"], user=c["user"], sys=c["sys"], cpu=c["user"] + c["sys"],
            rss_mb=c["rss_kb"] / 1024.0, exit=c["exit"], timed_out=c["timed_out"],
            expected=expected)
    r.requests = s1["requests"] - s0["requests"]
    r.feed_requests = s1["feed_requests"] - s0["feed_requests"]
    r.page_requests = s1["page_requests"] - s0["page_requests"]
    r.not_modified = s1["not_modified"] - s0["not_modified"]
    r.max_open_conns = s1["max_open_connections"]
    r.avg_in_flight = (s1["busy_seconds"] - s0["busy_seconds"]) / max(r.wall, 1e-6)
    if state:
        r.appended = corpus_count(state) - before_files
    m = SUMMARY_RE.search(c["stdout"])
    if m:
        r.failed = int(m.group(8))
        r.extra = {"reported_new": int(m.group(3)), "duplicates": int(m.group(4)),
                   "off_topic": int(m.group(5)), "seen": int(m.group(6)),
                   "unchanged": int(m.group(7)), "monitor_seconds": float(m.group(2))}
        if state and int(m.group(3)) != r.appended:
            r.note = f"summary says {m.group(3)} new, corpus grew by {r.appended}"
    else:
        m2 = re.search(r"baseline: .*?(\d+) entries, (\d+) failed", c["stdout"])
        if m2:
            r.failed = int(m2.group(2))
            r.extra = {"entries": int(m2.group(1))}
    if c["timed_out"]:
        r.note = f"killed after {timeout:.0f}s"
    elif c["exit"] != 0:
        r.note = f"exit {c['exit']}: " + (c["stderr"].strip().splitlines() or [""])[-1][:120]
    fails = [ln for ln in c["stderr"].splitlines() if ln.startswith("FAILED")]
    if fails:
        r.extra["first_failure"] = fails[0][:200]
    return r


def med(runs: list[Run], attr: str) -> float:
    vals = [getattr(r, attr) for r in runs if getattr(r, attr) is not None]
    return statistics.median(vals) if vals else float("nan")


def table(groups: dict[tuple[str, str], list[Run]], header_note: str) -> str:
    cols = ["scenario", "tool", "runs", "wall s (min-max)", "monitor x wall", "cpu s",
            "monitor x cpu", "peak RSS MB", "requests", "feeds", "pages", "304s",
            "avg in-flight", "appended", "expected", "failed"]
    rows = [cols]
    for (scenario, tool), runs in groups.items():
        base = groups.get((scenario, "monitor"))
        walls = [r.wall for r in runs]
        exp = [r.expected for r in runs if r.expected is not None]

        def ratio(attr: str) -> str:
            if tool == "monitor" or not base:
                return "-"
            return f"{med(runs, attr) / max(med(base, attr), 1e-9):.2f}"
        rows.append([
            scenario, tool, str(len(runs)),
            f"{statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f})", ratio("wall"),
            f"{med(runs, 'cpu'):.2f}", ratio("cpu"), f"{med(runs, 'rss_mb'):.0f}",
            f"{med(runs, 'requests'):.0f}", f"{med(runs, 'feed_requests'):.0f}",
            f"{med(runs, 'page_requests'):.0f}", f"{med(runs, 'not_modified'):.0f}",
            f"{med(runs, 'avg_in_flight'):.1f}",
            f"{med(runs, 'appended'):.0f}" if tool == "monitor" else "-",
            f"{statistics.median(exp):.0f}" if exp and tool == "monitor" else "-",
            f"{med(runs, 'failed'):.0f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    out = [header_note]
    for i, r in enumerate(rows):
        out.append("  ".join(c.rjust(w) if j > 1 else c.ljust(w) for j, (c, w) in
                             enumerate(zip(r, widths))))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


class Tool:
    """One program under test: how to make a fresh state for it (not timed) and the command that
    polls every farm feed once in that state (timed)."""

    def __init__(self, name: str, prepare, cmd, stateful: bool = True):
        self.name, self.prepare, self.cmd, self.stateful = name, prepare, cmd, stateful


def make_tools(args, tmp: Path, urls: list[str], seeds: Path, env: dict) -> list[Tool]:
    url_file = tmp / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    tools = [Tool("monitor", lambda: make_state(tmp, urls, seeds, args),
                  lambda st: [args.monitor, "-c", str(st / "config.yaml"), "poll"])]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for name in peers:
        if name == "reader":
            if not Path(args.peer_python).exists():
                print(f"peer reader: skipped ({args.peer_python} not found; see --peer-python)")
                continue
            child = tmp / "reader_child.py"
            child.write_text(READER_CHILD)

            def prep_reader(child=child) -> Path:
                d = Path(tempfile.mkdtemp(prefix="reader-", dir=tmp))
                subprocess.run([args.peer_python, str(child), str(d / "r.db"), str(url_file),
                                "1", "add"], check=True, timeout=300, env=env,
                               stdout=subprocess.DEVNULL)
                return d
            tools.append(Tool("reader", prep_reader, lambda st, child=child: [
                args.peer_python, str(child), str(st / "r.db"), str(url_file),
                str(args.peer_workers), "update"]))
        elif name == "newsboat":
            nb = shutil.which("newsboat")
            if not nb:
                print("peer newsboat: skipped (not installed: apt-get install newsboat)")
                continue

            def prep_nb() -> Path:
                d = Path(tempfile.mkdtemp(prefix="newsboat-", dir=tmp))
                (d / "config").write_text(f"reload-threads {args.peer_workers}\n")
                shutil.copy(url_file, d / "urls")
                return d
            tools.append(Tool("newsboat", prep_nb, lambda st: [
                nb, "-x", "reload", "-u", str(st / "urls"), "-c", str(st / "cache.db"),
                "-C", str(st / "config")]))
        elif name == "naive":
            child = tmp / "baseline_child.py"
            child.write_text(BASELINE_CHILD)
            tools.append(Tool("naive", lambda: tmp, lambda st, child=child: [
                args.python, str(child), str(url_file)], stateful=False))
        else:
            raise SystemExit(f"unknown peer {name!r} (reader, newsboat, naive)")
    return tools


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark `monitor poll` against a local feed farm, "
                                 "side by side with peer feed readers.")
    ap.add_argument("--feeds", type=int, default=200, help="N feeds (default 200)")
    ap.add_argument("--items", type=int, default=20, help="K items per feed (default 20)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="per-request server latency")
    ap.add_argument("--runs", type=int, default=3, help="R runs per scenario (default 3)")
    ap.add_argument("--hosts", type=int, default=50,
                    help="H loopback hosts 127.0.0.1..H the feeds are spread over (default 50)")
    ap.add_argument("--changed", type=float, default=0.05,
                    help="fraction of feeds changed before each incremental run (default 0.05)")
    ap.add_argument("--new-items", type=int, default=3, help="new items per changed feed")
    ap.add_argument("--concurrency", type=int, default=0, help="monitor concurrency (0: default)")
    ap.add_argument("--per-host", type=int, default=0, help="monitor per_host (0: its default)")
    ap.add_argument("--gzip", action="store_true", help="farm gzips bodies for gzip clients")
    ap.add_argument("--mix", choices=["real", "heavy", "none"], default="real",
                    help="how topical the farm's items are (bench/farm.py MIXES; default real)")
    ap.add_argument("--peers", default="reader,newsboat,naive",
                    help="comma list of reader,newsboat,naive ('' for monitor alone)")
    ap.add_argument("--peer-python", default="/work/peervenv/bin/python",
                    help="a Python with reader==3.26 and sgmllib3k installed")
    ap.add_argument("--peer-workers", type=int, default=32,
                    help="reader's update workers and newsboat's reload-threads (default 32)")
    ap.add_argument("--naive-runs", type=int, default=1, help="runs of the slow naive loop")
    ap.add_argument("--scenarios", default="cold,warm,incremental",
                    help="comma list of cold,warm,incremental")
    ap.add_argument("--time-limit", type=float, default=0,
                    help="overall seconds (default 900 for N<=300, else 2400)")
    ap.add_argument("--run-timeout", type=float, default=0,
                    help="seconds per child run (default: whatever is left of the time limit)")
    ap.add_argument("--profile", choices=["none", "cprofile", "py-spy", "py-spy-gil"], default="none",
                    help="after the scenarios, profile one extra cold run and a warm run after it "
                    "(py-spy-gil: only samples holding the GIL, i.e. Python CPU work)")
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy"))
    ap.add_argument("--profile-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "poll-bench-profiles", help="where profiles are saved (default: $TMPDIR/poll-bench-profiles)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--json", type=Path, help="also write every run as JSON here")
    ap.add_argument("--monitor", default=str(ROOT / ".venv" / "bin" / "monitor"))
    ap.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    args = ap.parse_args(argv)
    if args.feeds < 1 or args.items < 1 or args.runs < 1 or not 1 <= args.hosts <= 254:
        ap.error("--feeds, --items, --runs must be >= 1; --hosts 1..254")
    limit = args.time_limit or (900.0 if args.feeds <= 300 else 2400.0)
    budget = Budget(limit)
    global farm_budget
    farm_budget = budget
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    seeds = find_seeds()
    tmp = Path(tempfile.mkdtemp(prefix="poll-bench-"))
    env = dict(os.environ, NO_PROXY="*", no_proxy="*")
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(k, None)
    # monitor is installed editable: its bytecode is written on first use, unless the machine
    # sets PYTHONDONTWRITEBYTECODE (this one does), in which case every run would compile the
    # package from source (~50 ms) while the peers' site-packages were compiled by pip. Compile
    # it once, as a first run (or pip, for a non-editable install) would.
    subprocess.run([args.python, "-m", "compileall", "-q", str(ROOT / "monitor")], check=False,
                   timeout=120, env={k: v for k, v in env.items()
                                     if k != "PYTHONDONTWRITEBYTECODE"})

    farm = Farm(args.feeds, args.items, args.hosts, args.latency_ms, gzip_bodies=args.gzip,
                hard_limit=limit + 60, mix=args.mix).start()
    urls = farm.feed_urls()
    print(f"farm: {args.feeds} feeds x {args.items} items on {len(farm.bases)} host(s), latency "
          f"{args.latency_ms:g} ms, mix {args.mix}: {farm.expected_on_topic()} on-topic items; "
          f"budget {limit:.0f}s; tmp {tmp}", flush=True)

    groups: dict[tuple[str, str], list[Run]] = {}
    all_runs: list[Run] = []

    def go(tool: Tool, scenario: str, state: Path, expected: int | None, i: int) -> Run | None:
        t = budget.left() - 5
        t = min(args.run_timeout, t) if args.run_timeout else t
        if t < 5:
            print(f"  {tool.name} {scenario} #{i + 1}: skipped (time budget spent)", flush=True)
            return None
        mode = f"{tool.name}-{scenario}"
        r = measure(mode, farm, tool.cmd(state), state, t, tmp / f"{mode}-{i}",
                    state if tool.name == "monitor" else None,
                    expected if tool.name == "monitor" else None, env)
        all_runs.append(r)
        groups.setdefault((scenario, tool.name), []).append(r)
        print(f"  {tool.name:8} {scenario:11} #{i + 1}: {r.wall:6.2f}s wall, {r.cpu:6.2f}s cpu, "
              f"{r.rss_mb:4.0f} MB, {r.requests} req ({r.not_modified} x 304, "
              f"{r.avg_in_flight:.1f} in flight)"
              + (f", {r.appended} appended / {expected} expected"
                 if tool.name == "monitor" and expected is not None else "")
              + (f", {r.failed} failed" if r.failed else "") + (f"  [{r.note}]" if r.note else ""),
              flush=True)
        return r

    try:
        tools = make_tools(args, tmp, urls, seeds, env)
        states: dict[str, Path] = {}
        # cold: every run on a fresh state; the last one's state carries on to warm/incremental.
        # Tools take turns run by run, so a drift of the machine touches them alike.
        for i in range(args.runs):
            for tool in tools:
                if tool.name == "naive" and i >= args.naive_runs:
                    continue
                if "cold" not in scenarios and tool.name in states:
                    continue
                states[tool.name] = tool.prepare()
                go(tool, "cold", states[tool.name], farm.expected_on_topic(), i)
        stateful = [t for t in tools if t.stateful]
        if "warm" in scenarios:
            for i in range(args.runs):
                for tool in stateful:
                    go(tool, "warm", states[tool.name], 0, i)
        if "incremental" in scenarios:
            for i in range(args.runs):
                if budget.left() < 30:
                    break
                pub = farm.publish(args.changed, args.new_items)
                for tool in stateful:
                    r = go(tool, "incremental", states[tool.name], pub["new_on_topic"], i)
                    if r:
                        r.extra["published"] = pub
        prof_note = ""
        if args.profile != "none" and budget.left() > 30:
            prof_note = profile_cold(args, farm, tmp, urls, seeds, env, budget.left() - 5)

        conc = args.concurrency or "default"
        ph = args.per_host or "default"
        note = (f"\nN={args.feeds} feeds x K={args.items} items on H={len(farm.bases)} loopback "
                f"hosts, latency {args.latency_ms:g} ms, mix {args.mix}; median of R={args.runs} "
                f"(naive: {args.naive_runs}); monitor concurrency {conc}, per_host {ph}; reader "
                f"{args.peer_workers} update workers; newsboat {args.peer_workers} reload-threads;"
                f" incremental = {args.changed:.0%} of feeds x {args.new_items} new items. "
                "'monitor x' = the peer's median / monitor's (above 1: monitor is faster).\n")
        print(table(groups, note))
        if prof_note:
            print("\n" + prof_note)
        if args.json:
            args.json.write_text(json.dumps([r.__dict__ for r in all_runs], indent=1, default=str))
        bad = [r for r in all_runs if r.timed_out or r.exit != 0]
        return 1 if bad else 0
    finally:
        farm.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def profile_cold(args, farm: Farm, tmp: Path, urls: list[str], seeds: Path, env: dict,
                 timeout: float) -> str:
    """One extra cold run, then one warm run on its state, each under a profiler; returns a short
    report (top functions) and saves the raw profiles next to this file."""
    state = make_state(tmp, urls, seeds, args)
    cfg = str(state / "config.yaml")
    reports = []
    for phase in ("cold", "warm"):
        t = min(timeout, farm_budget.left() - 5) if farm_budget else timeout
        if t < 10:
            reports.append(f"{phase}: not profiled (time budget spent)")
            break
        if args.profile == "cprofile":
            out = tmp / f"{phase}.prof"
            cmd = [args.python, "-m", "cProfile", "-o", str(out), "-m", "monitor", "-c", cfg,
                   "poll"]
            r = measure("profile", farm, cmd, state, t, tmp / f"profile-{phase}", state, None,
                        env)
            if not out.exists():
                reports.append(f"{phase}: cProfile wrote nothing ({r.note})")
                continue
            import io
            import pstats
            buf = io.StringIO()
            st = pstats.Stats(str(out), stream=buf)
            st.sort_stats("tottime").print_stats(20)
            st.sort_stats("cumulative").print_stats(30)
            args.profile_dir.mkdir(parents=True, exist_ok=True)
            dest = args.profile_dir / f"{phase}.prof"
            shutil.copy(out, dest)
            reports.append(f"cProfile of one {phase} run ({r.wall:.1f}s wall, {r.cpu:.1f}s cpu; "
                           "main thread only: asyncio.to_thread workers are not seen), "
                           f"saved {dest}:\n" + buf.getvalue())
        else:
            out = tmp / f"{phase}.pyspy.txt"
            cmd = [args.py_spy, "record", "--threads", "--subprocesses", "-r", "100", "-f", "raw",
                   "-o", str(out)]
            cmd += ["--gil"] if args.profile == "py-spy-gil" else []
            cmd += ["--", args.monitor, "-c", cfg, "poll"]
            r = measure("profile", farm, cmd, state, t, tmp / f"profile-{phase}", state, None,
                        env)
            if not out.exists():
                err = Path(str(tmp / f"profile-{phase}") + ".err").read_text()[-500:]
                reports.append(f"{phase}: py-spy wrote nothing ({r.note}): {err}")
                continue
            args.profile_dir.mkdir(parents=True, exist_ok=True)
            dest = args.profile_dir / f"{phase}.pyspy.txt"
            shutil.copy(out, dest)
            reports.append(f"py-spy of one {phase} run ({r.wall:.1f}s wall under py-spy), raw "
                           f"stacks saved to {dest}\n" + summarize_pyspy(out))
    return "\n\n".join(reports)


farm_budget: Budget | None = None
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:81)", "select (selectors.py",
               "wait (threading.py", "_wait_for_tstate_lock")


def summarize_pyspy(path: Path, top: int = 25) -> str:
    """Aggregate py-spy's raw (collapsed) stacks: self time and inclusive time per function."""
    from collections import Counter
    self_c, incl, threads, total = Counter(), Counter(), Counter(), 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for n_line, line in enumerate(f):
            if n_line > 5_000_000:
                break
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            if frames[-1].startswith(IDLE_LEAVES):   # a thread waiting, not working
                continue
            total += n
            threads[frames[0].split(":")[-1].strip()[:40]] += n
            self_c[frames[-1]] += n
            for fr in set(frames[1:]):
                incl[fr] += n
    total = max(total, 1)
    lines = [f"{total} active samples (idle waits dropped); by thread: "
             + ", ".join(f"{t} {c / total:.0%}" for t, c in threads.most_common(8))]
    lines.append("top self:")
    lines += [f"  {c / total:6.1%}  {fr}" for fr, c in self_c.most_common(top)]
    lines.append("top inclusive:")
    lines += [f"  {c / total:6.1%}  {fr}" for fr, c in incl.most_common(top + 15)]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
