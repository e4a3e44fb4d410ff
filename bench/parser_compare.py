"""Would a faster feed parser change the picture? feedparser (the reference) against a minimal
lxml reader of RSS 2.0 / RSS 1.0 / Atom, on the real feeds in ../shared/fixtures/real/feeds
and ../malformed (the broken ones) and on the bench farm's feed.

For each document: time per parse (best of --repeat), and whether the lxml reader gives the same
entries as monitor.parse.parse_feed (feedparser): same count, and per entry the same title, link
and id (after the same plain-text cleaning). A document the lxml reader cannot read (not
well-formed XML, an unknown root) counts as "falls back": a real integration would hand it to
feedparser, so its cost is feedparser's plus the failed attempt.

    .venv/bin/python bench/parser_compare.py

This minimal reader was the measurement behind the proposal. The program's fast path is
monitor/fastfeed.py, which reproduces feedparser's result field by field (tests/test_fastfeed.py);
its speed is printed last: `monitor.parse.parse_feed` with and without it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from monitor.parse import parse_feed, plain  # noqa: E402

FEEDS = [ROOT.parent / "shared" / "fixtures" / "real" / "feeds",
         Path("/work/shared/fixtures/real/feeds")]
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                         recover=False, load_dtd=False)


class Unreadable(Exception):
    pass


def lxml_entries(data: bytes) -> list[dict]:
    """(title, link, id, summary) of each item, or Unreadable."""
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as e:
        raise Unreadable(str(e)) from None
    out = []
    if root.tag == "rss":
        for it in root.iterfind("channel/item"):
            link = (it.findtext("link") or "").strip()
            guid = (it.findtext("guid") or "").strip()
            out.append({"title": plain(it.findtext("title") or ""), "link": link,
                        "id": guid or link,
                        "summary": plain(it.findtext("description") or "")})
    elif root.tag == f"{RDF}RDF":
        for it in root.iterfind(f"{RSS1}item"):
            link = (it.findtext(f"{RSS1}link") or "").strip()
            out.append({"title": plain(it.findtext(f"{RSS1}title") or ""), "link": link,
                        "id": it.get(f"{RDF}about") or link,
                        "summary": plain(it.findtext(f"{RSS1}description") or "")})
    elif root.tag == f"{ATOM}feed":
        for it in root.iterfind(f"{ATOM}entry"):
            link = ""
            for ln in it.iterfind(f"{ATOM}link"):
                if ln.get("rel", "alternate") == "alternate":
                    link = (ln.get("href") or "").strip()
                    break
            t = it.find(f"{ATOM}title")
            title = "".join(t.itertext()) if t is not None else ""
            s = it.find(f"{ATOM}summary")
            out.append({"title": plain(title), "link": link,
                        "id": (it.findtext(f"{ATOM}id") or "").strip() or link,
                        "summary": plain("".join(s.itertext()) if s is not None else "")})
    else:
        raise Unreadable(f"root element {root.tag}")
    return out


def best(fn, data: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        try:
            fn(data)
        except Exception:   # noqa: BLE001 — timing the failure too
            pass
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    folder = next((f for f in FEEDS if f.is_dir()), None)
    if folder is None:
        print("no ../shared/fixtures/real/feeds here")
        return 1
    docs = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]
    broken = folder.parent / "malformed"   # the broken real feeds
    if broken.is_dir():
        docs += [(f"malformed/{p.name}", p.read_bytes()) for p in sorted(broken.iterdir())
                 if p.is_file() and p.suffix != ".md"]
    from farm import make_item, render_feed
    docs.append(("farm (20 items)", render_feed(0, "Farm", [make_item(0, s, 1, "real")
                                                             for s in range(20)],
                                                "http://127.0.0.1:1")))
    import monitor.parse as mp
    mp.FAST_PATH = False               # the reference columns: feedparser alone
    fp_ms, lx_ms, same, differ, fallback, fp_fail = [], [], 0, [], [], 0
    for name, data in docs:
        url = f"http://127.0.0.1/{name}"
        try:
            ref = parse_feed(data, {}, url, url)
        except Exception:   # noqa: BLE001 — a document feedparser refuses
            ref = None
            fp_fail += 1
        f = best(lambda d: parse_feed(d, {}, url, url), data, args.repeat)
        x = best(lxml_entries, data, args.repeat)
        fp_ms.append(f * 1000)
        try:
            mine = lxml_entries(data)
        except Unreadable as e:
            fallback.append(f"{name}: {str(e)[:70]}")
            lx_ms.append((x + f) * 1000)
            continue
        lx_ms.append(x * 1000)
        if ref is None:
            differ.append(f"{name}: feedparser refuses it, lxml reads {len(mine)} entries")
            continue
        theirs = [{"title": e.title, "link": e.link, "id": e.key} for e in ref.entries]
        ours = [{"title": m["title"], "link": m["link"], "id": m["id"]} for m in mine]
        mismatch = [(a, b) for a, b in zip(theirs, ours)
                    if a["title"] != b["title"] or a["link"] != b["link"]]
        if len(theirs) != len(ours) or mismatch:
            a, b = mismatch[0] if mismatch else ({}, {})
            differ.append(f"{name}: {len(theirs)} vs {len(ours)} entries; first difference "
                          f"{(a.get('title') or '')[:40]!r}/{(a.get('link') or '')[:50]} vs "
                          f"{(b.get('title') or '')[:40]!r}/{(b.get('link') or '')[:50]}")
        else:
            same += 1
    n = len(docs)
    print(f"{n} documents ({folder}, plus the farm's feed); best of {args.repeat}")
    print(f"feedparser (monitor.parse_feed): total {sum(fp_ms):.0f} ms, median {statistics.median(fp_ms):.1f} ms/doc")
    print(f"lxml reader (feedparser on fallback): total {sum(lx_ms):.0f} ms, median {statistics.median(lx_ms):.2f} ms/doc"
          f"  -> {sum(fp_ms) / max(sum(lx_ms), 1e-9):.1f}x faster in total")
    print(f"same entries (title, link): {same}/{n - len(fallback)} readable; falls back: {len(fallback)}; "
          f"feedparser refuses: {fp_fail}")
    for label, group in (("well-formed feeds", [d for d in docs if "/" not in d[0]]),
                         ("broken feeds", [d for d in docs if d[0].startswith("malformed/")])):
        timed = {}
        for fast in (False, True):
            mp.FAST_PATH = fast
            timed[fast] = sum(best(lambda d, u=f"http://127.0.0.1/{n}": mp.parse_feed(d, {}, u, u),
                                   data, args.repeat) for n, data in group) * 1000
        print(f"monitor.parse_feed on {len(group)} {label}: feedparser only {timed[False]:.0f} ms;"
              f" with monitor/fastfeed.py {timed[True]:.0f} ms"
              f"  -> {timed[False] / max(timed[True], 1e-9):.1f}x")
    mp.FAST_PATH = True
    for line in differ[:15]:
        print("  differs:", line)
    for line in fallback[:15]:
        print("  falls back:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
