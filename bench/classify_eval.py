"""How well does the topic classifier (monitor.classify.classify) pick Russia–North Korea stories?

Runs `classify({"title": ..., "summary": ..., "text": ...})` (the default topic) on two labelled
sets and prints precision, recall and F1:

  written  tests/data/topic_eval.json       hand-written stories in English, Russian and Korean
  real     tests/data/topic_eval_real.json  our labels for real items in ../shared/fixtures/real
                                            (text loaded from there at run time; the set is
                                            skipped with a SKIP line when ../shared is absent)
  holdout  tests/data/topic_holdout.json    stories written blind (by writers who never saw the
                                            classifier), split "holdout": never tuned on

Labels: "relevant" (the story is about Russia–North Korea relations), "irrelevant", "ambiguous".
Ambiguous items are left out of precision/recall/F1 (and reported as "kept a/n" on their own).
Kinds: relevant, ru_only (Russia, no North Korea), nk_only (North Korea, no Russia), trap
(look-alikes: South Korea, "Kim", Moscow Idaho, Bukhansan, foggy = туманная, ...), mention (both
named in passing, e.g. a list of countries), other (real items naming neither side).
For a relevant kind the figure is recall; for a negative kind it is the false-positive rate
(irrelevant items kept / irrelevant items).

Two modes: "full" (title + summary + text) and "headline" (title + summary, text dropped).

    .venv/bin/python bench/classify_eval.py
    .venv/bin/python bench/classify_eval.py --split test --errors
    .venv/bin/python bench/classify_eval.py --set written --split tune --errors --mode full

Standard library + monitor only; deterministic; writes nothing; exits 0.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shlex
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import monitor.classify  # noqa: E402
from monitor.classify import classify  # noqa: E402

DATA = ROOT / "tests" / "data"
WRITTEN = DATA / "topic_eval.json"
REAL = DATA / "topic_eval_real.json"
HOLDOUT = DATA / "topic_holdout.json"
# ../shared beside the checkout; MONITOR_SHARED points elsewhere (as in tests/conftest.py)
SHARED = Path(os.environ.get("MONITOR_SHARED") or ROOT.parent / "shared")

LABELS = ("relevant", "irrelevant", "ambiguous")
KINDS = ("relevant", "ru_only", "nk_only", "trap", "mention", "other")
NEGATIVE_KINDS = ("ru_only", "nk_only", "trap", "mention", "other")
MODES = ("full", "headline")
SETS = ("written", "real", "holdout")
SPLITS = ("tune", "test", "holdout")


@dataclass(frozen=True)
class Item:
    id: str
    set: str          # "written" or "real"
    lang: str
    kind: str
    label: str
    split: str
    title: str
    summary: str
    text: str
    source: str       # "written" or the fixture path

    def fields(self, mode: str) -> dict[str, str]:
        """The fields handed to classify: all three keys in both modes (text "" in headline mode)."""
        return {"title": self.title, "summary": self.summary,
                "text": self.text if mode == "full" else ""}


# --- loading ------------------------------------------------------------------------------------


def load_written(path: Path = WRITTEN, set_name: str = "written") -> list[Item]:
    items = json.loads(path.read_text(encoding="utf-8"))["items"]
    return [Item(id=it["id"], set=set_name, lang=it["lang"], kind=it["kind"], label=it["label"],
                 split=it["split"], title=it["title"], summary=it["summary"], text=it["text"],
                 source=it["source"]) for it in items]


def _article_body(path: Path) -> str:
    """The body of a crawled article in articles/text/: no YAML header, title or crawl footer."""
    raw = path.read_text(encoding="utf-8")
    parts = raw.split("---", 2)
    body = parts[2] if raw.startswith("---") and len(parts) == 3 else raw
    keep = [ln.strip() for ln in body.splitlines()
            if ln.strip() and not ln.lstrip().startswith(("#", "**", "---", "*Crawled", "*Source"))]
    return html.unescape("\n".join(keep))


def _fixture_fields(file: str, doc, index: int) -> tuple[str, str, str]:
    """(title, summary, text) of item `index` of a headlines/ fixture."""
    items = doc["items"] if isinstance(doc, dict) else doc
    it = items[index]
    if "csis_" in file:
        return it["headline"], "", it.get("text") or ""
    if "kcna_" in file:
        return it["headline"], "", it.get("story_text") or ""
    return it.get("title") or "", it.get("summary") or "", it.get("text") or ""


def load_real(path: Path = REAL, shared: Path = SHARED) -> tuple[list[Item], list[str]]:
    """The real set with text from `shared`; ([], [reason]) when the fixtures are absent.
    Entries whose fixture title no longer matches the stored hash are skipped and reported."""
    if not (shared / "fixtures" / "real").is_dir():
        return [], [f"SKIP real set: {shared / 'fixtures' / 'real'} is not present on this machine"]
    entries = json.loads(path.read_text(encoding="utf-8"))["items"]
    docs: dict[str, object] = {}
    items, problems = [], []
    for e in entries:
        fpath = shared / e["file"]
        if e["file"] not in docs:
            docs[e["file"]] = (json.loads(fpath.read_text(encoding="utf-8"))
                               if fpath.is_file() else None)
        doc = docs[e["file"]]
        if doc is None:
            problems.append(f"{e['id']}: {e['file']} missing")
            continue
        try:
            title, summary, text = _fixture_fields(e["file"], doc, e["index"])
        except (IndexError, KeyError):
            problems.append(f"{e['id']}: index {e['index']} not in {e['file']}")
            continue
        if hashlib.sha1(title.encode()).hexdigest()[:12] != e["title_sha1"]:
            problems.append(f"{e['id']}: title changed in {e['file']}")
            continue
        if e.get("text_file"):
            tpath = shared / e["text_file"]
            if tpath.is_file():
                text = _article_body(tpath)
        items.append(Item(id=e["id"], set="real", lang=e["lang"], kind=e["kind"],
                          label=e["label"], split=e["split"], title=title, summary=summary,
                          text=text, source=e["file"]))
    return items, problems


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class Result:
    item: Item
    mode: str
    keep: bool
    reason: str
    evidence: str

    @property
    def wrong(self) -> bool:
        return (self.item.label == "relevant") != self.keep and self.item.label != "ambiguous"


def _evidence(verdict) -> str:
    seen = []
    for m in getattr(verdict, "matches", ()) or ():
        s = f"{getattr(m, 'surface', '?')}={getattr(m, 'side', '?')}"
        if s not in seen:
            seen.append(s)
    return ", ".join(seen[:8]) + (" ..." if len(seen) > 8 else "")


def run(items: list[Item], modes=MODES) -> dict[str, list[Result]]:
    out = {}
    for mode in modes:
        res = []
        for it in items:
            v = classify(it.fields(mode))
            res.append(Result(it, mode, bool(v.keep), str(getattr(v, "reason", "")), _evidence(v)))
        out[mode] = res
    return out


@dataclass
class Counts:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    amb: int = 0
    amb_kept: int = 0

    def add(self, r: Result) -> None:
        if r.item.label == "ambiguous":
            self.amb += 1
            self.amb_kept += r.keep
        elif r.item.label == "relevant":
            if r.keep:
                self.tp += 1
            else:
                self.fn += 1
        elif r.keep:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)

    @property
    def fpr(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None


def count(results: list[Result], pred=lambda r: True) -> Counts:
    c = Counts()
    for r in results:
        if pred(r):
            c.add(r)
    return c


def metrics(items: list[Item], mode: str = "full") -> dict:
    """Summary figures for the tests: overall P/R/F1 and recall per language (ambiguous excluded)."""
    res = run(items, (mode,))[mode]
    c = count(res)
    langs = sorted({it.lang for it in items})
    return {"precision": c.precision, "recall": c.recall, "f1": c.f1, "counts": c,
            "recall_by_lang": {lg: count(res, lambda r, lg=lg: r.item.lang == lg).recall
                               for lg in langs},
            "errors": [r for r in res if r.wrong]}


# --- printing -----------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def prf_line(name: str, c: Counts) -> str:
    return (f"  {name:<22} P {pct(c.precision)}  R {pct(c.recall)}  F1 {pct(c.f1)}   "
            f"tp {c.tp:3} fn {c.fn:3} fp {c.fp:3} tn {c.tn:3}   ambiguous kept {c.amb_kept}/{c.amb}")


def print_report(results: list[Result], title: str) -> None:
    print(f"\n== {title}")
    print(prf_line("overall", count(results)))
    for s in SPLITS:
        sub = [r for r in results if r.item.split == s]
        if sub:
            print(prf_line(f"split {s}", count(sub)))
    print("  per language:")
    for lg in sorted({r.item.lang for r in results}):
        print(prf_line(f"  {lg}", count(results, lambda r, lg=lg: r.item.lang == lg)))
    print("  per kind (relevant: recall; negatives: false-positive rate = irrelevant kept / "
          "irrelevant):")
    langs = sorted({r.item.lang for r in results})
    for kind in KINDS:
        sub = [r for r in results if r.item.kind == kind]
        if not sub:
            continue
        parts = []
        for lg in langs:
            c = count(sub, lambda r, lg=lg: r.item.lang == lg)
            if kind == "relevant" and c.tp + c.fn:
                parts.append(f"{lg} {c.tp}/{c.tp + c.fn}")
            elif kind != "relevant" and c.fp + c.tn:
                parts.append(f"{lg} {c.fp}/{c.fp + c.tn}")
        c = count(sub)
        if kind == "relevant":
            head = f"recall {pct(c.recall)} ({c.tp}/{c.tp + c.fn})"
        else:
            head = f"FP rate {pct(c.fpr)} ({c.fp}/{c.fp + c.tn})"
        amb = f"; ambiguous kept {c.amb_kept}/{c.amb}" if c.amb else ""
        print(f"    {kind:<9} {head:<28} [{', '.join(parts)}]{amb}")


def print_errors(results: list[Result]) -> None:
    wrong = [r for r in results if r.wrong]
    print(f"\n-- misclassified ({results[0].mode} mode): {len(wrong)}")
    for r in sorted(wrong, key=lambda r: (r.item.label, r.item.kind, r.item.id)):
        what = "FN (missed)" if r.item.label == "relevant" else "FP (kept)"
        t = r.item.title.replace("\n", " ")
        print(f"  {what:<11} {r.item.id:<20} [{r.item.lang} {r.item.kind} {r.item.split}] {t[:90]}")
        print(f"              reason: {r.reason}" + (f"; found: {r.evidence}" if r.evidence else ""))


def print_counts(items: list[Item]) -> None:
    print("\nitems (lang x kind x label; " + "/".join(SPLITS) + "):")
    table = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    for it in items:
        table[(it.set, it.lang, it.kind, it.label)][it.split] += 1
    for key in sorted(table):
        n = "  ".join(f"{s} {table[key][s]:4}" for s in SPLITS)
        print(f"  {key[0]:<8} {key[1]:<3} {key[2]:<9} {key[3]:<11} {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    ap.add_argument("--set", choices=(*SETS, "all"), default="all", dest="which")
    ap.add_argument("--mode", choices=(*MODES, "both"), default="both")
    ap.add_argument("--errors", action="store_true", help="list misclassified ids with the reason")
    args = ap.parse_args(argv)

    cmd = " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/classify_eval.py",
                                            *(sys.argv[1:] if argv is None else argv)])
    print(f"# {cmd}")
    where = Path(monitor.classify.__file__).resolve()
    print(f"# classifier: monitor.classify.classify, default topic ({where}); "
          "ambiguous excluded from P/R/F1")
    t0 = time.perf_counter()
    items: list[Item] = []
    if args.which in ("written", "all"):
        items += load_written()
    if args.which in ("real", "all"):
        real, problems = load_real()
        for p in problems:
            print(f"# {p}")
        items += real
    if args.which in ("holdout", "all"):
        items += load_written(HOLDOUT, "holdout")
    if args.split != "all":
        items = [it for it in items if it.split == args.split]
    print(f"# split: {args.split}; {len(items)} items")
    print_counts(items)

    modes = MODES if args.mode == "both" else (args.mode,)
    results = run(items, modes)
    for mode in modes:
        res = results[mode]
        for s in SETS:
            sub = [r for r in res if r.item.set == s]
            if sub:
                shown = "title+summary+text" if mode == "full" else "title+summary only"
                print_report(sub, f"{mode} mode ({shown}) - {s} set, split {args.split}")
        if len({r.item.set for r in res}) > 1:
            print_report(res, f"{mode} mode - all sets together, split {args.split}")
    if args.errors:
        for mode in modes:
            if results[mode]:
                print_errors(results[mode])
    print(f"\n# {len(items) * len(modes)} classifications in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
