"""Memory soak for the daemon: `monitor run` against a local feed farm for minutes, thousands of polls.

    .venv/bin/python bench/soak.py                 # 10 minutes, 200 feeds x 20 items, interval 2s
    .venv/bin/python bench/soak.py --quick         # about 2 minutes, 50 feeds
    .venv/bin/python bench/soak.py --minutes 30 --max-growth-mb 20

What it does:
  - starts the feed farm (bench/farm.py) in this process: N feeds x K items on H loopback hosts
    (127.0.0.1..H); every --publish-every seconds it publishes --new-items new items in
    --changed of the feeds, so some polls bring new stories and most get 304;
  - writes a temp config (corpus = a copy of seeds/, a temp database, every farm feed, a
    second-scale `interval`) and starts `<venv python> -m monitor -c CONFIG run`;
  - every --sample-every seconds reads the daemon's VmRSS / VmHWM / Threads from /proc/PID/status,
    its open file descriptors, the farm's request counters, and the daemon's log (standard error);
  - at the end sends SIGTERM and checks that the daemon exits 0 within 10 s;
  - prints: polls (feed fetches the farm served), stories appended, RSS when warm (the end of the
    tick that polled the last feed never polled before: every feed polled once and the cold work
    of fetching and extracting every page done), at the middle, at the end, the maximum, and the growth per 1000 polls
    (least-squares slope of RSS against cumulative polls, from warm on; also over the second half
    alone, which separates a slow warm-up from a steady leak).

Exit status: 0 when the daemon ran, stopped cleanly and RSS grew at most --max-growth-mb after warm
(the fitted slope times the polls after warm); 1 otherwise (each reason is printed); 2 on a usage
error.

The farm's feeds normally carry polling hints (<ttl>15</ttl>, Cache-Control: max-age=60) that the
daemon honours ("never sooner than the feed asks"), which would allow one poll per feed every 15
minutes. The soak serves the same farm without them (SoakFarm below), so the configured
interval rules and a feed is polled every 0.5-8 s (¼× to 4× of 2 s, as the daemon adapts).

Bounded: every loop is counted and has a deadline; the farm stops itself after the run plus a
grace; the daemon runs in its own session and is killed (SIGKILL, its process group only) if it
has not exited 30 s after SIGTERM. Standard library only, plus bench/farm.py; Linux (/proc).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import farm as farm_mod  # noqa: E402
from farm import Farm  # noqa: E402

STOP_LIMIT = 10.0          # the daemon must exit within this many seconds of SIGTERM
KILL_AFTER = 30.0          # ... and is killed if it has not exited after this many
SUMMARY_RE = re.compile(r"polled (\d+) feeds: (\d+) new stories, (\d+) duplicates, (\d+) off-topic,"
                        r" (\d+) seen before, (\d+) unchanged, (\d+) failed")
FEED_RE = re.compile(r" INFO feed (\S+): (ok|not_modified|unchanged), ")
FAILED_RE = re.compile(r" WARNING feed (\S+) failed: ")
LEVEL_RE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (.*)$")


# Words for the per-item paragraphs (see SoakFarm): the farm's own filler vocabulary, which names
# neither side, so it cannot change what is on topic.
VOCAB = sorted({w.strip(".,'\"") for t in farm_mod.PARA_OFF + farm_mod.OFF_SUMMARIES
                for w in t.split() if "{" not in w}
               | {w for lst in (farm_mod.CITIES, farm_mod.COUNTRIES, farm_mod.ADJ,
                                farm_mod.TOPICS, farm_mod.THINGS) for w in lst} - {""})
UNIQUE_WORDS = 300


class SoakFarm(Farm):
    """The farm as the soak needs it.

    - No polling hints: no <ttl> in the RSS, no Cache-Control/Expires header, so the configured
      second-scale interval decides when a feed is polled.
    - Distinct stories (unless unique_text=False): the farm builds every page from a few
      templates, so after the first dozen stories the daemon rightly finds every new on-topic item
      a near-duplicate of one it has, and nothing is appended any more. Each page gets three
      paragraphs of words drawn at random (seeded by the item), 300 words: the texts of two items
      then overlap well under the near-duplicate threshold, and each on-topic item is appended.
    """

    def __init__(self, *args, unique_text: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.unique_text = unique_text
        self._unique_pages: dict[tuple[int, int], tuple[bytes, bytes]] = {}

    def _render(self, fs, when: int) -> None:
        super()._render(fs, when)
        body = re.sub(rb"<ttl>\d+</ttl>\n?", b"", fs.body)
        if body == fs.body and b"<ttl>" in body:
            raise RuntimeError("could not remove <ttl> from the farm's feed")
        fs.body = body
        fs.body_gz = gzip.compress(body, 6) if self.gzip_bodies else b""

    def _page(self, feed: int, serial: int, base: str) -> tuple[bytes, bytes] | None:
        page = super()._page(feed, serial, base)
        if page is None or not self.unique_text:
            return page
        key = (feed, serial)
        cached = self._unique_pages.get(key)
        if cached is None:
            rng = random.Random(f"soak/{self.seed}/{feed}/{serial}")
            paras = []
            for _ in range(3):
                words = [rng.choice(VOCAB) for _ in range(UNIQUE_WORDS // 3)]
                sentences = [" ".join(words[i:i + 15]) for i in range(0, len(words), 15)]
                paras.append("<p>" + ". ".join(s[:1].upper() + s[1:] for s in sentences) + ".</p>\n")
            body = page[0].replace(b"</article>", "".join(paras).encode() + b"</article>", 1)
            cached = (body, gzip.compress(body, 6) if self.gzip_bodies else b"")
            if len(self._unique_pages) > 50_000:   # bounded memory
                self._unique_pages.clear()
            self._unique_pages[key] = cached
        return cached

    async def _send(self, writer, status, body, ctype, extra, close, **kw) -> None:
        extra = {k: v for k, v in extra.items() if k.lower() not in ("cache-control", "expires")}
        await super()._send(writer, status, body, ctype, extra, close, **kw)


@dataclass
class Sample:
    t: float                 # seconds since the daemon started
    rss_kb: int
    hwm_kb: int
    threads: int
    fds: int
    polls: int               # feed requests the farm served (200 + 304)
    not_modified: int
    pages: int
    appended: int            # corpus files added


@dataclass
class LogStats:
    feed_lines: dict = field(default_factory=lambda: {"ok": 0, "not_modified": 0, "unchanged": 0})
    ticks: int = 0
    polled: int = 0          # sum over the per-tick summary lines
    new: int = 0
    duplicates: int = 0
    failed: int = 0
    polled_once: set = field(default_factory=set)   # feed URLs polled (or failed) at least once
    first_full_at: float | None = None   # end of the tick that polled the last never-polled feed
    warnings: int = 0
    errors: int = 0
    tracebacks: int = 0
    problems: dict = field(default_factory=dict)   # normalised message → count (first 20 kinds)


class LogReader:
    """Reads the daemon's log file incrementally (bounded per call)."""

    def __init__(self, path: Path, n_feeds: int):
        self.path, self.n_feeds = path, n_feeds
        self.pos = 0
        self.partial = b""
        self.stats = LogStats()

    def read(self, now: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read(max_bytes)
        except FileNotFoundError:
            return
        self.pos += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        st = self.stats
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            m = FEED_RE.search(line)
            if m:
                st.feed_lines[m.group(2)] += 1
                if len(st.polled_once) < self.n_feeds:
                    st.polled_once.add(m.group(1))
                continue
            m = SUMMARY_RE.search(line)
            if m:
                st.ticks += 1
                st.polled += int(m.group(1))
                st.new += int(m.group(2))
                st.duplicates += int(m.group(3))
                st.failed += int(m.group(7))
                if st.first_full_at is None and len(st.polled_once) >= self.n_feeds:
                    st.first_full_at = now
                continue
            m = FAILED_RE.search(line)
            if m and len(st.polled_once) < self.n_feeds:
                st.polled_once.add(m.group(1))
            if line.startswith("Traceback"):
                st.tracebacks += 1
            m = LEVEL_RE.match(line)
            if m:
                if m.group(1) == "WARNING":
                    st.warnings += 1
                else:
                    st.errors += 1
                key = m.group(1) + " " + re.sub(r"\d+", "N", m.group(2))[:140]
                if key in st.problems or len(st.problems) < 20:
                    st.problems[key] = st.problems.get(key, 0) + 1


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def find_seeds(arg: str | None) -> Path:
    for d in ([Path(arg)] if arg else [ROOT / "seeds"]):
        if d.is_dir() and list(d.glob("*.txt")):
            return d
    raise SystemExit(f"no seed files (*.txt) in {arg or ROOT / 'seeds'}")


def make_state(tmp: Path, urls: list[str], seeds: Path, interval: str) -> Path:
    """config.yaml, corpus/ with the seed files, no database yet (as bench/poll_bench.py)."""
    corpus = tmp / "corpus"
    corpus.mkdir()
    for f in sorted(seeds.glob("*.txt")):
        shutil.copy(f, corpus / f.name)
    lines = ["corpus_dir: corpus", "database: state.db", f"interval: {interval}",
             "timeouts:", "  connect: 10s", "  read: 30s", "  total: 60s", "feeds:"]
    lines += [f"  - url: {u}" for u in urls]
    (tmp / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp / "config.yaml"


def code_version() -> str:
    """The commit the daemon runs from, and whether monitor/ differs from it (an editable install
    runs the working tree as it is when the daemon starts)."""
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True,
                              timeout=20).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--", "monitor")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes in monitor/" if dirty else "")


def corpus_count(tmp: Path) -> int:
    return sum(1 for _ in (tmp / "corpus").glob("*.txt"))


def fit(samples: list[Sample]) -> tuple[float, float] | None:
    """Least-squares slope (KB of RSS per poll) and intercept, or None with too few points."""
    xs = [s.polls for s in samples]
    if len(samples) < 3 or max(xs) == min(xs):
        return None
    r = statistics.linear_regression(xs, [s.rss_kb for s in samples])
    return r.slope, r.intercept


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Memory soak: `monitor run` against a local feed farm.")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long the daemon runs (10)")
    ap.add_argument("--quick", action="store_true",
                    help="about 2 minutes: --minutes 2, and --feeds 50 unless given (the cold "
                    "first poll of 200 feeds alone takes 1-2 minutes)")
    ap.add_argument("--feeds", type=int, default=None, help="N feeds (200)")
    ap.add_argument("--items", type=int, default=20, help="K items per feed (20)")
    ap.add_argument("--hosts", type=int, default=4, help="H loopback hosts 127.0.0.1..H (4)")
    ap.add_argument("--interval", default="2s", help="the config's `interval` (2s)")
    ap.add_argument("--publish-every", type=float, default=20.0,
                    help="seconds between publications on the farm (20)")
    ap.add_argument("--changed", type=float, default=0.05,
                    help="fraction of the feeds changed at each publication (0.05)")
    ap.add_argument("--new-items", type=int, default=3, help="new items per changed feed (3)")
    ap.add_argument("--template-pages", action="store_true",
                    help="serve the farm's pages unchanged (then almost every new on-topic item "
                    "is a near-duplicate and nothing is appended after the first poll)")
    ap.add_argument("--sample-every", type=float, default=3.0, help="seconds between samples (3)")
    ap.add_argument("--max-growth-mb", type=float, default=20.0,
                    help="fail when RSS grows more than this after warm (fitted; 20)")
    ap.add_argument("--seeds", help="seed corpus directory (default: seeds/ of this repo)")
    ap.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--samples-json", type=Path, help="also write every sample here as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, db, log)")
    args = ap.parse_args(argv)
    if args.quick:
        args.minutes = 2.0
        args.feeds = args.feeds or 50
    args.feeds = args.feeds or 200
    if not (0 < args.minutes <= 24 * 60 and args.feeds >= 1 and args.items >= 1
            and 1 <= args.hosts <= 254 and args.sample_every >= 0.5 and args.publish_every > 0
            and 0 <= args.changed <= 1):
        ap.error("need 0 < --minutes <= 1440, --feeds/--items >= 1, --hosts 1..254, "
                 "--sample-every >= 0.5, --publish-every > 0, 0 <= --changed <= 1")
    duration = args.minutes * 60.0
    seeds = find_seeds(args.seeds)
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    env = dict(os.environ, NO_PROXY="*", no_proxy="*", PYTHONUNBUFFERED="1")
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "MONITOR_CONFIG"):
        env.pop(k, None)

    farm = SoakFarm(args.feeds, args.items, args.hosts, hard_limit=duration + 180,
                    unique_text=not args.template_pages).start()
    proc: subprocess.Popen | None = None
    failures: list[str] = []
    try:
        urls = farm.feed_urls()
        config = make_state(tmp, urls, seeds, args.interval)
        files0 = corpus_count(tmp)
        cmd = [args.python, "-m", "monitor", "-c", str(config), "run"]
        print(f"soak: {' '.join(shlex.quote(a) for a in [sys.executable] + sys.argv)}")
        print(f"farm: {args.feeds} feeds x {args.items} items on {', '.join(farm.bases)} "
              f"(no ttl/max-age hints); publish {args.changed:.0%} of feeds x {args.new_items} "
              f"items every {args.publish_every:g}s; "
              f"{'template' if args.template_pages else 'distinct'} page texts; "
              f"{args.minutes:g} min; tmp {tmp}")
        version = code_version()
        print(f"daemon: {' '.join(shlex.quote(a) for a in cmd)}  (code {version})", flush=True)

        log_path = tmp / "daemon.log"
        log_file = open(log_path, "wb")
        s0 = farm.snapshot()
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log_file.close()
        reader = LogReader(log_path, args.feeds)
        samples: list[Sample] = []
        published = {"feeds_changed": 0, "new_items": 0, "new_on_topic": 0, "times": 0}
        next_publish = t0 + args.publish_every
        next_report = t0 + 60.0
        deadline = t0 + duration
        cpu = 0.0
        max_iter = int(math.ceil(duration / args.sample_every)) + 10
        for _ in range(max_iter):
            now = time.monotonic()
            if now >= deadline:
                break
            time.sleep(min(args.sample_every, max(0.0, deadline - now)))
            now = time.monotonic()
            if proc.poll() is not None:
                failures.append(f"the daemon exited early (status {proc.returncode}) after "
                                f"{now - t0:.0f}s")
                break
            if now >= next_publish:
                pub = farm.publish(args.changed, args.new_items)
                for k in ("feeds_changed", "new_items", "new_on_topic"):
                    published[k] += pub[k]
                published["times"] += 1
                next_publish += args.publish_every
            reader.read(now - t0)
            try:
                ps = proc_status(proc.pid)
                cpu = proc_cpu_seconds(proc.pid)
            except (OSError, ValueError):
                continue
            snap = farm.snapshot()
            samples.append(Sample(
                t=now - t0, rss_kb=ps["VmRSS"], hwm_kb=ps["VmHWM"], threads=ps["Threads"],
                fds=count_fds(proc.pid), polls=snap["feed_requests"] - s0["feed_requests"],
                not_modified=snap["not_modified"] - s0["not_modified"],
                pages=snap["page_requests"] - s0["page_requests"],
                appended=corpus_count(tmp) - files0))
            if now >= next_report:
                s = samples[-1]
                print(f"  t={s.t:5.0f}s  polls {s.polls:6d}  304s {s.not_modified:6d}  pages "
                      f"{s.pages:5d}  appended {s.appended:4d}  RSS {mb(s.rss_kb)} MB  "
                      f"fds {s.fds}  threads {s.threads}  cpu {cpu:.0f}s", flush=True)
                next_report += 60.0

        # -- stop ---------------------------------------------------------------------------------
        stop_seconds = None
        if proc.poll() is None:
            try:
                cpu = proc_cpu_seconds(proc.pid)
            except (OSError, ValueError):
                pass
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(KILL_AFTER)
                stop_seconds = time.monotonic() - sent
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)   # its own session: only what we started
                proc.wait(10)
                failures.append(f"the daemon did not exit within {KILL_AFTER:.0f}s of SIGTERM "
                                "(killed)")
            if stop_seconds is not None and stop_seconds > STOP_LIMIT:
                failures.append(f"the daemon took {stop_seconds:.1f}s to exit after SIGTERM "
                                f"(limit {STOP_LIMIT:.0f}s)")
        if proc.returncode != 0 and not failures:
            failures.append(f"the daemon exited with status {proc.returncode}")
        elif proc.returncode != 0:
            failures.append(f"exit status {proc.returncode}")
        wall = time.monotonic() - t0
        reader.read(wall)
        if reader.partial:
            reader.partial += b"\n"
            reader.read(wall)
        snap = farm.snapshot()
        polls = snap["feed_requests"] - s0["feed_requests"]
        appended = corpus_count(tmp) - files0
        st = reader.stats

        # -- figures --------------------------------------------------------------------------
        if not samples:
            failures.append("no samples taken")
            return report_failures(failures, log_path)
        warm_t = st.first_full_at
        warm = [s for s in samples if warm_t is not None and s.t >= warm_t]
        if not warm:
            failures.append("the first full poll never finished: no warm samples")
            warm = samples
        first, last = warm[0], warm[-1]
        mid_t = (first.t + last.t) / 2
        middle = min(warm, key=lambda s: abs(s.t - mid_t))
        peak = max(samples, key=lambda s: s.rss_kb)
        f_all = fit(warm)
        f_half = fit([s for s in warm if s.t >= mid_t])
        polls_after = last.polls - first.polls
        growth_kb = f_all[0] * polls_after if f_all else float("nan")

        def per_1000(f):
            return f"{f[0] * 1000 / 1024:+.3f} MB" if f else "n/a"

        rows = [
            ("code", version),
            ("run", f"{wall:.0f}s wall, daemon CPU {cpu:.0f}s "
                    f"({100 * cpu / max(wall, 1e-9):.0f}% of one core)"),
            ("polls (feed fetches)", f"{polls} ({snap['not_modified'] - s0['not_modified']} x 304,"
                                     f" {polls / max(wall, 1e-9):.1f}/s); daemon log: "
                                     f"{sum(st.feed_lines.values())} feed lines "
                                     f"({st.feed_lines['ok']} ok, {st.feed_lines['not_modified']}"
                                     f" not modified, {st.feed_lines['unchanged']} unchanged), "
                                     f"{st.ticks} ticks, {st.failed} failed"),
            ("page fetches", f"{snap['page_requests'] - s0['page_requests']}"),
            ("stories appended", f"{appended} files (log: {st.new} new, {st.duplicates} "
                                 f"duplicates); farm published {published['new_items']} items "
                                 f"({published['new_on_topic']} on topic) in "
                                 f"{published['times']} rounds, plus "
                                 f"{args.feeds * args.items} at start"),
            ("RSS warm (first full poll)", f"{mb(first.rss_kb)} MB at t={first.t:.0f}s, "
                                           f"after {first.polls} polls"),
            ("RSS middle", f"{mb(middle.rss_kb)} MB at t={middle.t:.0f}s, after "
                           f"{middle.polls} polls"),
            ("RSS end", f"{mb(last.rss_kb)} MB at t={last.t:.0f}s, after {last.polls} polls"),
            ("RSS max", f"{mb(peak.rss_kb)} MB at t={peak.t:.0f}s (VmHWM "
                        f"{mb(samples[-1].hwm_kb)} MB)"),
            ("growth per 1000 polls", f"{per_1000(f_all)} (fit from warm, {len(warm)} samples); "
                                      f"{per_1000(f_half)} (second half only)"),
            ("growth after warm", f"{growth_kb / 1024:+.1f} MB fitted over {polls_after} polls; "
                                  f"end - warm {(last.rss_kb - first.rss_kb) / 1024:+.1f} MB "
                                  f"(limit {args.max_growth_mb:g} MB)"),
            ("fds / threads", f"{first.fds} / {first.threads} warm, {last.fds} / {last.threads} "
                              f"end, max {max(s.fds for s in samples)} / "
                              f"{max(s.threads for s in samples)}"),
            ("stop (SIGTERM)", f"exit {proc.returncode} after "
                               + (f"{stop_seconds:.1f}s" if stop_seconds is not None else "-")),
            ("daemon log", f"{st.warnings} warnings, {st.errors} errors, {st.tracebacks} "
                           f"tracebacks"),
        ]
        w = max(len(k) for k, _ in rows)
        print(f"\nsoak of `monitor run`: {args.feeds} feeds x {args.items} items, interval "
              f"{args.interval}, {args.minutes:g} min")
        for k, v in rows:
            print(f"  {k.ljust(w)}  {v}")
        for key, n in sorted(st.problems.items(), key=lambda kv: -kv[1])[:10]:
            print(f"    {n:6d} x {key}")
        print(f"  daemon command: {' '.join(shlex.quote(a) for a in cmd)}")
        if args.samples_json:
            args.samples_json.write_text(json.dumps([s.__dict__ for s in samples]))
            print(f"  samples: {args.samples_json}")

        if not math.isnan(growth_kb) and growth_kb / 1024 > args.max_growth_mb:
            failures.append(f"RSS grew {growth_kb / 1024:.1f} MB after warm (limit "
                            f"{args.max_growth_mb:g} MB)")
        if polls < args.feeds:
            failures.append(f"only {polls} polls: not even one full round")
        if st.errors or st.tracebacks:
            failures.append(f"the daemon logged {st.errors} errors / {st.tracebacks} tracebacks")
        return report_failures(failures, log_path)
    finally:
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
        farm.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def report_failures(failures: list[str], log_path: Path) -> int:
    if not failures:
        print("OK")
        return 0
    for f in failures:
        print(f"FAIL: {f}")
    try:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        print("last lines of the daemon log:\n  " + "\n  ".join(tail))
    except OSError:
        pass
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
