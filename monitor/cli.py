"""argv → command. Translates MonitorError into a message and an exit code; holds no logic.

Exit status (the contract): 0 the command did its job (for `poll`, also when some feeds failed:
they are reported); 2 invalid config or usage; 1 anything else that stopped the command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor import __version__
from monitor.config import default_config_path, load_config
from monitor.errors import ConfigError, MonitorError
from monitor.models import FeedOutcome

log = logging.getLogger("monitor")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS,
                        help="config file (default: $MONITOR_CONFIG, then ./config.yaml)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log every event, not only problems")
    common.add_argument("--log-format", choices=["text", "json"], default=argparse.SUPPRESS,
                        help="log line format on standard error")
    p = argparse.ArgumentParser(prog="monitor", parents=[common],
                                description="Watch news feeds for one topic; keep a clean corpus.")
    p.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("poll", parents=[common], help="poll every enabled feed once, append new stories")
    sub.add_parser("run", parents=[common], help="the daemon: scheduled polls until SIGTERM/SIGINT")
    sub.add_parser("feeds", parents=[common], help="one line per feed: health, last success, ...")
    sub.add_parser("check", parents=[common], help="validate the config without network access")
    d = sub.add_parser("digest", parents=[common], help="build and deliver the digest now")
    d.add_argument("--dry-run", action="store_true",
                   help="print the digest (text form); deliver nothing, mark nothing")
    d.add_argument("--html", type=Path, metavar="FILE",
                   help="write the digest's HTML form to FILE for a look in a browser; "
                        "deliver nothing, mark nothing")
    w = sub.add_parser("why", parents=[common],
                       help="why a story was kept or rejected (by corpus file name or URL)")
    w.add_argument("subject", nargs="?", metavar="FILE_OR_URL")
    w.add_argument("--rejected", action="store_true",
                   help="list recently rejected candidates with their reasons")
    w.add_argument("--limit", type=int, default=50, help="with --rejected: how many (default 50)")
    w.add_argument("--json", action="store_true", help="print JSON on standard output")
    st = sub.add_parser("stories", parents=[common], help="what was collected, newest first")
    st.add_argument("--since", metavar="DATE", help="only stories published (or fetched) since "
                                                   "this date (YYYY-MM-DD or ISO 8601)")
    st.add_argument("--outlet", help="only stories whose outlet contains this text")
    st.add_argument("--lang", choices=["en", "ru", "ko"], help="only stories in this language")
    st.add_argument("--limit", type=int, default=50, help="at most this many (default 50; 0: all)")
    st.add_argument("--json", action="store_true", help="print a JSON array on standard output")
    sh = sub.add_parser("show", parents=[common], help="one story with its provenance")
    sh.add_argument("story", metavar="FILE_OR_ID")
    sh.add_argument("--json", action="store_true", help="print JSON on standard output")
    se = sub.add_parser("search", parents=[common], help="full-text search of titles and texts")
    se.add_argument("query", metavar="QUERY")
    se.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    se.add_argument("--json", action="store_true", help="print a JSON array on standard output")
    sub.add_parser("status", parents=[common],
                   help="corpus size and growth, feeds at a glance, last poll, next digest")
    ex = sub.add_parser("export", parents=[common],
                        help="the whole corpus with metadata, as JSON lines or CSV")
    ex.add_argument("--format", choices=["jsonl", "csv"], required=True)
    ex.add_argument("-o", "--output", type=Path, metavar="FILE",
                    help="write to FILE (atomically) instead of standard output")
    t = sub.add_parser("topic", parents=[common],
                       help="show the topic; --replay: what it would keep or drop now")
    t.add_argument("--replay", action="store_true",
                   help="re-score the corpus and recent candidates with the current topic "
                        "(changes nothing)")
    t.add_argument("--recent", type=int, default=1000,
                   help="with --replay: how many recent candidates (default 1000)")
    dd = sub.add_parser("dedup", parents=[common],
                        help="report near-duplicate groups already in the corpus (changes nothing)")
    dd.add_argument("--check", action="store_true", required=True,
                    help="report only (the one mode there is)")
    # -- sources: the feed list (monitor/sources.py) --
    ad = sub.add_parser("add", parents=[common],
                        help="add a feed to the config, or find the feeds a site's page offers")
    ad.add_argument("url", metavar="URL", help="a feed's URL or a site's page")
    ad.add_argument("--name", help="the feed's name in the config (default: the feed's title)")
    ad.add_argument("--pick", type=int, metavar="N",
                    help="when several feeds are found, add the N-th listed (1-based)")
    ad.add_argument("--yes", action="store_true",
                    help="never ask (without --pick, several feeds found is an error)")
    rm = sub.add_parser("remove", parents=[common], help="remove a feed from the config")
    rm.add_argument("url", metavar="URL")
    im = sub.add_parser("import-opml", parents=[common],
                        help="add every feed of an OPML file that is not configured yet")
    im.add_argument("file", type=Path, metavar="FILE")
    sub.add_parser("export-opml", parents=[common],
                   help="the configured feeds as OPML 2.0 on standard output")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The daemon reports what it does (stories appended, feeds failing); one-shot commands
    # report only problems unless --verbose.
    _logging(getattr(args, "verbose", False) or args.command == "run",
             getattr(args, "log_format", "text"))
    config_path = getattr(args, "config", None) or default_config_path()
    try:
        config = load_config(config_path)
        return COMMANDS[args.command](config, args)
    except ConfigError as e:
        for problem in e.problems:
            print(f"monitor: config error: {problem}", file=sys.stderr)
        return e.exit_code
    except MonitorError as e:
        print(f"monitor: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("monitor: interrupted", file=sys.stderr)
        return 130


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
                           "level": record.levelname.lower(), "message": record.getMessage()},
                          ensure_ascii=False)


def _logging(verbose: bool, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


# -- commands ----------------------------------------------------------------------------------


def cmd_check(config, args) -> int:
    enabled = sum(1 for f in config.feeds if f.enabled)
    print(f"{config.path.name}: OK — {len(config.feeds)} feeds ({enabled} enabled), "
          f"corpus {config.corpus_dir}, database {config.database}")
    return 0


def cmd_poll(config, args) -> int:
    from monitor import shards
    from monitor.app import App

    with App(config) as app:
        feeds = app.pollable_feeds()
        progress = _Progress(len(feeds)) if sys.stderr.isatty() else None
        started = time.monotonic()
        outcomes = shards.poll(app, feeds, shards.shard_count(config.poll_processes, len(feeds)),
                               progress)
        if progress:
            progress.done()
        for o in outcomes:
            if not o.ok:
                print(f"FAILED {o.feed_url}: {o.error}", file=sys.stderr)
        print(summary(outcomes, time.monotonic() - started))
        return 0


def summary(outcomes: list[FeedOutcome], seconds: float | None) -> str:
    appended = sum(len(o.appended) for o in outcomes)
    failed = sum(1 for o in outcomes if not o.ok)
    unchanged = sum(1 for o in outcomes if o.status in ("not_modified", "unchanged"))
    took = f" in {seconds:.1f}s" if seconds is not None else ""
    return (f"polled {len(outcomes)} feeds{took}: {appended} new stories, "
            f"{sum(o.duplicates for o in outcomes)} duplicates, "
            f"{sum(o.rejected for o in outcomes)} off-topic, "
            f"{sum(o.seen for o in outcomes)} seen before, {unchanged} unchanged, {failed} failed")


class _Progress:
    """A one-line progress bar on a terminal (standard error)."""

    def __init__(self, total: int):
        self.total, self.count = total, 0

    def __call__(self, outcome: FeedOutcome) -> None:
        self.count += 1
        width = 30
        filled = int(width * self.count / max(self.total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {self.count}/{self.total} feeds")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()


class _Stop(BaseException):
    """SIGTERM/SIGINT before the daemon's own handlers are installed (during start-up)."""


def _stop_during_start_up(signum, frame):
    raise _Stop()


def cmd_run(config, args) -> int:
    # A service manager may stop us while we start: exit cleanly (0) rather than die by signal.
    # App.run() replaces these handlers with the event loop's once it is running.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop_during_start_up)
    try:
        return _run(config)
    except _Stop:
        print("monitor: stopped during start-up", file=sys.stderr)
        return 0


def _run(config) -> int:
    from monitor.app import App
    from monitor.state import iso

    app = App(config)

    def report(outcomes: list[FeedOutcome]) -> None:
        for o in outcomes:
            if not o.ok:
                log.warning("feed %s failed: %s", o.feed_url, o.error)
        log.info(summary(outcomes, None))

    app.state.claim_daemon()
    next_poll = app.next_poll()
    print(f"monitor {__version__}: watching {len(app.pollable_feeds())} feeds "
          f"({len(config.feeds) - len(app.pollable_feeds())} disabled or gone), corpus "
          f"{config.corpus_dir} ({len(app.corpus.scan())} stories), database {config.database}; "
          f"next poll {'now' if not next_poll or next_poll <= app.clock() else iso(next_poll)}; "
          f"next digest {_digest_when(app)}; stop with Ctrl-C or SIGTERM", file=sys.stderr)
    try:
        asyncio.run(app.run(report))
    finally:
        app.close()
    print("monitor: stopped", file=sys.stderr)
    return 0


def _digest_when(app) -> str:
    d = app.config.digest
    where = (f"by SMTP via {d.smtp.host}:{d.smtp.port} to {', '.join(d.to)}" if d.smtp
             else f"to the outbox {d.outbox}")
    return (f"{app.next_digest().astimezone(ZoneInfo(d.timezone)):%Y-%m-%d %H:%M} {d.timezone} "
            f"{where}")


def cmd_feeds(config, args) -> int:
    from monitor.app import App

    with App(config) as app:
        rows = app.feed_rows()
    header = ("STATE", "LAST SUCCESS", "FAILS", "NEXT POLL", "KEPT 7D", "FEED", "LAST ERROR")
    table = [header]
    for r in rows:
        state = ("disabled" if not r["enabled"] else "gone" if r["gone"] else
                 "new" if not r["last_polled"] else
                 "failing" if r["consecutive_failures"] else "silent" if r["silent"] else "ok")
        table.append((state, _short_time(r["last_success"]), str(r["consecutive_failures"] or 0),
                      "never" if r["gone"] else _short_time(r["next_due"]), str(r["kept_7d"]),
                      r["name"] or r["url"],
                      (r["last_error"] or "") if r["consecutive_failures"] or r["gone"] else
                      "no new item in 7 days (usually several a week)" if r["silent"] else ""))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _short_time(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


def cmd_digest(config, args) -> int:
    from monitor.app import App
    from monitor.errors import DeliveryError
    from monitor.render import render_html, render_text

    preview = args.dry_run or args.html is not None
    with App(config) as app:
        try:
            outcome = asyncio.run(app.send_digest(dry_run=preview))
        except DeliveryError as e:
            queued = len(app.state.undigested())
            raise DeliveryError(f"digest not delivered: {e}; its {queued} "
                                f"{'story stays' if queued == 1 else 'stories stay'} queued "
                                "for the next digest") from e
    d = outcome.digest
    if args.html is not None:
        args.html.write_text(render_html(d), encoding="utf-8")
        print(f"wrote {args.html} ({d.count} stories; nothing delivered)", file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(f"Subject: {d.subject}\n\n{render_text(d)}")
    elif outcome.status == "delivered":
        print(f"digest delivered: {d.count} stories in {len(d.events)} items from "
              f"{d.outlet_count} outlets, to {outcome.destination}")
    elif outcome.status == "empty":
        print("nothing new since the last digest; no email sent")
    return 0


def cmd_dedup(config, args) -> int:
    from monitor.corpus import Corpus
    from monitor.dedup import near_duplicate_groups

    corpus = Corpus(config.corpus_dir)
    files = corpus.scan()
    texts, titles = {}, {}
    for f in files:
        title, _, body = corpus.read(f.name).partition("\n")
        texts[f.name], titles[f.name] = body or title, title
    groups = near_duplicate_groups(texts)
    print(f"{len(groups)} near-duplicate groups among {len(files)} stories in {config.corpus_dir}")
    for i, group in enumerate(groups, 1):
        print(f"group {i}:")
        for name, match, sim in group:
            how = "" if name == match else f"  (similarity {sim:.2f} to {match})"
            print(f"  {name}  {titles[name][:80]}{how}")
    return 0


def cmd_why(config, args) -> int:
    from monitor.app import App
    from monitor.explain import rejected, why

    if not args.rejected and not args.subject:
        raise ConfigError("why: give a corpus file name or a URL, or --rejected")
    with App(config) as app:
        if args.rejected:
            rows = rejected(app.state, max(1, args.limit))
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=1))
            else:
                for r in rows:
                    print(f"{_short_time(r['seen_at'])}  score {r['score'] if r['score'] is not None else '-':>2}  "
                          f"{(r['title'] or '')[:70]}  — {r['reason']}  [{r['feed'] or ''}]")
                if not rows:
                    print("no rejected candidates recorded yet")
            return 0
        e = why(app.state, app.corpus, config.topic, args.subject)
    if e is None:
        raise MonitorError(f"why: nothing known about {args.subject} (not a corpus file, and no "
                           "feed entry with that link)")
    if args.json:
        print(json.dumps(e.as_dict(), ensure_ascii=False, indent=1))
        return 0
    print(f"{e.subject}: {e.decision}" + (f" — {e.title}" if e.title else ""))
    if e.score is not None:
        print(f"score {e.score}: {e.reason}" + ("  (scored now with the current topic)"
                                               if e.scored_now else ""))
    elif e.reason:
        print(e.reason)
    for m in e.matches:
        print(f"  {m['side']:<14} {m['term']:<24} {m['field']:<8} at {m['position']:<6} "
              f"{m.get('surface', '')!r}")
    for k, v in e.details.items():
        if v:
            print(f"{k}: {', '.join(v) if isinstance(v, list) else v}")
    return 0


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since: {value!r} is not a date (use YYYY-MM-DD)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def cmd_stories(config, args) -> int:
    from monitor.app import App
    from monitor.catalog import stories

    since = _since(args.since)
    with App(config) as app:
        rows = stories(app.state, since, args.outlet, args.lang, args.limit or None)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        when = _short_time(r["published"] or r["fetched_at"])
        print(f"{r['file_name']}  {when:<16}  {r['language']}  {(r['outlet'] or '-')[:24]:<24}  "
              f"{r['title'] or ''}")
    return 0


def cmd_show(config, args) -> int:
    from monitor.app import App
    from monitor.catalog import show

    with App(config) as app:
        item = show(app.state, app.corpus, args.story)
    if item is None:
        raise MonitorError(f"show: no story {args.story!r} (give a corpus file name, its number "
                           "or its 16-hex id)")
    if args.json:
        print(json.dumps(item, ensure_ascii=False, indent=1))
        return 0
    print(f"{item['file_name']}  {item['title']}")
    for k in ("outlet", "link", "canonical_url", "published", "fetched_at", "language", "score",
              "text_source", "text_method", "text_note"):
        if item.get(k) not in (None, ""):
            print(f"  {k}: {item[k]}")
    for s in item["sightings"]:
        print(f"  seen: {s['seen_at']}  {s['feed'] or ''}  {s['url']}")
    ev = item.get("evidence")
    if isinstance(ev, dict):
        print(f"  topic: {ev.get('reason')}; terms: "
              + ", ".join(sorted({m['term'] for m in ev.get('matches', [])})))
    print()
    print(item["text"] if item["text"] is not None else f"(file unreadable: {item['text_error']})")
    return 0


def cmd_search(config, args) -> int:
    from monitor.app import App
    from monitor.catalog import search

    with App(config) as app:
        rows = search(app.state, args.query, max(1, args.limit))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print(f"nothing found for {args.query!r}")
    for r in rows:
        print(f"{r['file_name']}  {r['title']}")
        print(f"    {' '.join((r['snippet'] or '').split())}")
    return 0


def cmd_status(config, args) -> int:
    from monitor.app import App
    from monitor.catalog import growth, spark

    with App(config) as app:
        now = app.clock()
        files = app.corpus.scan()
        days = growth(app.state, now)
        rows = app.feed_rows()
        last_poll = max((r["last_polled"] for r in rows if r["last_polled"]), default=None)
        next_digest = _digest_when(app)
        queued = len(app.state.undigested())
    enabled = [r for r in rows if r["enabled"]]
    failing = sum(1 for r in enabled if r["consecutive_failures"] and not r["gone"])
    gone = sum(1 for r in enabled if r["gone"])
    silent = sum(1 for r in enabled if r["silent"] and not r["consecutive_failures"])
    ok = len(enabled) - failing - gone - silent
    added = sum(n for _, n in days)
    print(f"corpus: {len(files)} stories in {config.corpus_dir}; {added} added in the last "
          f"30 days")
    print(f"  per day {days[0][0]} … {days[-1][0]}: {spark([n for _, n in days])}  "
          f"(max {max(n for _, n in days)})")
    print(f"feeds: {len(enabled)} enabled — {ok} ok, {failing} failing, {silent} silent, "
          f"{gone} gone" + (f"; {len(rows) - len(enabled)} disabled" if len(rows) > len(enabled)
                            else ""))
    print(f"last poll: {_short_time(last_poll)}")
    print(f"next digest: {next_digest}; {queued} stories waiting for it")
    return 0


def cmd_export(config, args) -> int:
    import os
    import tempfile

    from monitor.app import App
    from monitor.catalog import export

    with App(config) as app:
        if args.output is None:
            for chunk in export(app.state, app.corpus, args.format):
                sys.stdout.write(chunk)
            return 0
        target = args.output.resolve()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                for chunk in export(app.state, app.corpus, args.format):
                    f.write(chunk)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        print(f"wrote {target}", file=sys.stderr)
        return 0


def cmd_topic(config, args) -> int:
    topic = config.topic
    print(f"topic: {topic.name} — sides: {', '.join(topic.side_names)}; "
          f"{len(topic.terms)} terms")
    if not args.replay:
        return 0
    from monitor.app import App
    from monitor.explain import replay

    with App(config) as app:
        r = replay(app.state, app.corpus, topic, max(1, args.recent))
    print(f"corpus: {r.corpus_total} stories; {len(r.corpus_dropped)} would not be kept now")
    for name, title, reason in r.corpus_dropped:
        print(f"  - {name}  {title[:70]}  — {reason}")
    print(f"recent candidates: {r.candidates_total}; {len(r.newly_kept)} rejected before would be "
          f"kept now (on title and summary); {len(r.newly_rejected)} kept before would be "
          "dropped before their page is fetched")
    for link, title, reason in r.newly_kept:
        print(f"  + {title[:70]}  {link}  — {reason}")
    for link, title, reason in r.newly_rejected:
        print(f"  - {title[:70]}  {link}  — {reason}")
    print("(nothing was changed)")
    return 0


# -- sources: the feed list (logic in monitor/sources.py) --------------------------------------


def cmd_add(config, args) -> int:
    from monitor.config import check_url
    from monitor.sources import (COMMON_PATHS, add_feeds, describe, discover, make_fetcher,
                                 same_feed)

    try:
        url = check_url(args.url)
    except ValueError as e:
        raise ConfigError(f"add: {e}") from None
    if args.pick is not None and args.pick < 1:
        raise ConfigError("add: --pick counts from 1")
    hit = same_feed(config.feeds, url)
    if hit:
        raise MonitorError(f"add: {url} is already configured: {describe(*hit)}")

    async def find():
        async with make_fetcher(config) as fetcher:
            return await discover(url, fetcher, feed_bytes=config.limits.feed_bytes,
                                  page_bytes=config.limits.page_bytes)

    found = asyncio.run(find())
    cands = found.candidates
    if not cands:
        raise MonitorError(f"add: no feed found at {url}: it is not a feed itself, and neither "
                           "the feeds its page links to (<link rel=\"alternate\">) nor the usual "
                           f"paths ({', '.join(COMMON_PATHS)}) answered with a feed")
    if found.is_feed:
        print(f"{url} is a feed: {cands[0].title or '(no title)'} ({cands[0].items} items)")
    else:
        print(f"{url} is a page; {len(cands)} feed{'s' if len(cands) != 1 else ''} found:")
        for i, c in enumerate(cands, 1):
            dup = same_feed(config.feeds, c.url)
            print(f"  {i}. {c.title or '(no title)'} — {c.url} ({c.items} items)"
                  + (f"  [already configured: {describe(*dup)}]" if dup else ""))
    interactive = sys.stdin.isatty() and not args.yes
    if args.pick is not None:
        if args.pick > len(cands):
            raise ConfigError(f"add: --pick {args.pick}, but only {len(cands)} "
                              f"feed{'s were' if len(cands) != 1 else ' was'} found")
        chosen = cands[args.pick - 1]
    elif len(cands) == 1:
        chosen = cands[0]
        if interactive and not found.is_feed and not _ask(f"add {chosen.url}? [Y/n] ", True):
            print("nothing added")
            return 1
    elif interactive:
        chosen = _choose(cands)
        if chosen is None:
            print("nothing added")
            return 1
    else:
        raise MonitorError(f"add: {len(cands)} feeds found at {url} (listed above); rerun with "
                           "--pick N to add the N-th")
    hit = same_feed(config.feeds, chosen.url)
    if hit:
        raise MonitorError(f"add: {chosen.url} is already configured: {describe(*hit)}")
    report = add_feeds(config.path, [(chosen.url, args.name or chosen.title or None)])
    if report.skipped or report.invalid:     # the config changed since it was loaded
        raise MonitorError(f"add: {chosen.url} not added: "
                           + "; ".join(why for _, why in report.skipped + report.invalid))
    index, feed = report.added[0]
    print(f"added {describe(index, feed)} to {config.path.name}")
    return 0


def _ask(question: str, default: bool) -> bool:
    try:
        answer = input(question).strip().lower()
    except EOFError:
        return False
    return default if not answer else answer in ("y", "yes")


def _choose(cands):
    for _ in range(3):
        try:
            answer = input(f"add which feed? [1-{len(cands)}, empty: none] ").strip()
        except EOFError:
            return None
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(cands):
            return cands[int(answer) - 1]
        print(f"give a number from 1 to {len(cands)}")
    return None


def cmd_remove(config, args) -> int:
    from monitor.sources import describe, remove_feed

    index, feed = remove_feed(config.path, args.url)
    print(f"removed {describe(index, feed)} from {config.path.name}")
    return 0


def cmd_import_opml(config, args) -> int:
    from monitor.sources import MAX_OPML_BYTES, add_feeds, describe, parse_opml

    try:
        with open(args.file, "rb") as f:
            data = f.read(MAX_OPML_BYTES + 1)
    except OSError as e:
        raise MonitorError(f"import-opml: cannot read {args.file}: {e.strerror or e}") from None
    outlines = parse_opml(data, str(args.file))
    report = add_feeds(config.path, [(o.url, o.name) for o in outlines])
    for index, feed in report.added:
        print(f"added    {describe(index, feed)}")
    for url, why in report.skipped:
        print(f"skipped  {url} ({why})")
    for url, why in report.invalid:
        print(f"invalid  {url!r}: {why}")
    print(f"{args.file}: {len(outlines)} feeds: {len(report.added)} added, "
          f"{len(report.skipped)} skipped (already there), {len(report.invalid)} invalid"
          + (f"; {config.path.name} updated" if report.added else "; nothing changed"))
    return 0


def cmd_export_opml(config, args) -> int:
    from monitor.sources import export_opml

    sys.stdout.write(export_opml(config))
    return 0


COMMANDS = {"check": cmd_check, "poll": cmd_poll, "run": cmd_run, "feeds": cmd_feeds,
            "digest": cmd_digest, "dedup": cmd_dedup, "why": cmd_why, "topic": cmd_topic,
            "stories": cmd_stories, "show": cmd_show, "export": cmd_export,
            "search": cmd_search, "status": cmd_status,
            "add": cmd_add, "remove": cmd_remove, "import-opml": cmd_import_opml,
            "export-opml": cmd_export_opml}
