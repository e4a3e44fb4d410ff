"""Start-up cost with a big corpus: N story files (default 100,000) in the corpus directory.

Writes N files in the corpus format (`NNNNNN_<16 hex>.txt`: a title line, then 3 paragraphs of
generated prose, about 120 words; story i is generated from i, so nothing is stored), then runs
`monitor poll` on a config with no feeds three times in fresh processes:

  first   the database knows none of the files: each one is registered, fingerprinted for the
          near-duplicate index and indexed for search (this is the one-off cost of adopting a
          corpus, or of upgrading to a version with a new index)
  second  after the first run: what every later start costs (recovery checks, the corpus scan,
          the queries for files the database does not know yet)
  third   the same again, to show it is stable

Reported per run: wall time, CPU (user+sys) and peak RSS of the child (os.wait4), and its exit
code. The target (issue 8) is a start-up under 5 s after the first run.

    .venv/bin/python bench/startup.py                  # 100,000 files in a temp dir
    .venv/bin/python bench/startup.py --stories 20000  # quick

Bounded: each run has a timeout (--timeout, default 1800 s for the first, 120 s for the others);
the temp dir is removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("the government said on monday that talks with its neighbours would continue next week "
         "after officials met in the capital to discuss trade energy security and the budget "
         "analysts expect prices to rise while exports fall as the central bank weighs another "
         "cut in interest rates amid slower growth and higher unemployment in the region "
         "ministers rejected the report calling it premature and promised further details "
         "within days as lawmakers prepare a vote on the new measures").split()


def story(i: int) -> tuple[str, list[str]]:
    rng = random.Random(i)
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + f" {i}"
    paras = []
    for _ in range(3):
        words = [rng.choice(WORDS) for _ in range(40)]
        paras.append(" ".join(words).capitalize() + ".")
    return title, paras


def write_corpus(corpus: Path, n: int) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(n)))
    for i in range(n):
        title, paras = story(i)
        sid = hashlib.sha256(f"https://example.org/story/{i}".encode()).hexdigest()[:16]
        (corpus / f"{i:0{width}d}_{sid}.txt").write_text(
            "\n".join([title, *paras]), encoding="utf-8")


def run(cmd: list[str], timeout: float) -> dict:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = start + timeout
    while True:   # bounded by the deadline
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.monotonic() - start
    out, err = proc.stdout.read().decode(errors="replace"), proc.stderr.read().decode(errors="replace")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "exit": os.waitstatus_to_exitcode(status), "out": out.strip()[-200:],
            "err": err.strip()[-300:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stories", type=int, default=100_000)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds for the first run")
    ap.add_argument("--monitor", default=str(ROOT / ".venv" / "bin" / "monitor"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    try:
        t = time.monotonic()
        write_corpus(tmp / "corpus", args.stories)
        print(f"wrote {args.stories} files in {time.monotonic() - t:.1f}s to {tmp / 'corpus'}",
              flush=True)
        cfg = tmp / "config.yaml"
        cfg.write_text("corpus_dir: corpus\ndatabase: state.db\nfeeds: []\n", encoding="utf-8")
        rows = []
        for name, timeout in (("first", args.timeout), ("second", 120.0), ("third", 120.0)):
            r = run([args.monitor, "-c", str(cfg), "poll"], timeout)
            rows.append((name, r))
            print(f"{name:6}: {r['wall']:7.2f}s wall, {r['cpu']:7.2f}s cpu, {r['rss_mb']:5.0f} MB, "
                  f"exit {r['exit']}" + (f"  {r['err']}" if r["exit"] else ""), flush=True)
        size = (tmp / "state.db").stat().st_size / 1e6 if (tmp / "state.db").exists() else 0
        print(f"\nmonitor poll with no feeds on a {args.stories:,}-file corpus; database "
              f"{size:.0f} MB")
        print("| start | wall s | CPU s | peak RSS MB |\n| --- | --- | --- | --- |")
        for name, r in rows:
            print(f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss_mb']:.0f} |")
        return 0 if all(r["exit"] == 0 for _, r in rows) else 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
