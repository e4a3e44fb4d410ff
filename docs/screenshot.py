#!/usr/bin/env python3
"""Screenshots of the digest email's HTML in headless Chromium, for the README and for a person to
look at after a template change:

    docs/digest.png            phone width (420 px), light scheme
    docs/digest-dark.png       phone width, dark scheme (prefers-color-scheme: dark)
    docs/digest-desktop.png    desktop width (1024 px), light scheme

    .venv/bin/python docs/screenshot.py [--html FILE] [--out DIR] [--phone-only] [--timeout S]

By default it shoots tests/data/golden/digest.html (the golden file the tests compare against),
so regenerate the goldens first. The page is opened from a file:// URL in a fresh temporary
profile with networking features off; the email's HTML loads nothing remote. Each shot is as tall
as the page: a first run measures the height (--dump-dom of a page holding the email in an iframe
of the shot's width, with a script that writes the height into the DOM; the email itself has no
script), a second one takes the picture. Every Chromium run is bounded by --timeout and its whole
process group is killed if it overruns. After shooting, the top-left pixels of each picture are
checked: a light background for the light shots, a dark one for the dark shot (so a flag that
stops working is noticed). Hangul needs a Korean font on the machine (Debian: fonts-nanum or
fonts-noto-cjk); without one the Korean story shows as empty boxes.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DEFAULT_HTML = ROOT / "tests" / "data" / "golden" / "digest.html"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--no-default-browser-check", "--disable-breakpad", "--disable-crash-reporter",
         "--disable-domain-reliability", "--force-device-scale-factor=1"]
# Blink's PreferredColorScheme: 0 = dark, 1 = light. --force-dark-mode works as well here
# (Chromium 150); both are passed, and the picture is checked either way.
DARK = ["--blink-settings=preferredColorScheme=0", "--force-dark-mode"]
LIGHT = ["--blink-settings=preferredColorScheme=1"]
# The measuring page: the email in a same-origin (srcdoc) iframe exactly as wide as the shot, so
# its media queries see that width (a headless window is never narrower than 500 px, but the
# screenshot is cropped to --window-size), and a script that writes the height into the DOM.
MEASURE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="width:{width}px; height:100px; border:0" srcdoc="{srcdoc}"></iframe>
<script>addEventListener("load", () => document.body.setAttribute("data-shot-height",
  Math.ceil(document.getElementById("f").contentDocument.documentElement
            .getBoundingClientRect().height)))</script>
</body></html>"""
SHOTS = [  # name, width, dark
    ("digest.png", 420, False),
    ("digest-dark.png", 420, True),
    ("digest-desktop.png", 1024, False),
]


class ShotError(RuntimeError):
    pass


def chromium(args: list[str], timeout: float) -> str:
    """Run Chromium once in a new temporary profile; its stdout. Kills the process group on a
    timeout (Chromium starts helper processes of its own)."""
    with tempfile.TemporaryDirectory(prefix="monitor-shot-profile-") as profile:
        cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             env={**os.environ, "HOME": profile})
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise ShotError(f"chromium did not finish within {timeout:.0f} s: {' '.join(args)}")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p.returncode != 0:
            raise ShotError(f"chromium exited {p.returncode}: {err.decode(errors='replace')[-800:]}")
        return out.decode("utf-8", errors="replace")


def measure(page: Path, width: int, timeout: float) -> int:
    """The page's height in CSS pixels at this viewport width."""
    srcdoc = html.escape(page.read_text(encoding="utf-8"), quote=True)
    probe = page.with_name(f"measure-{width}.html")
    probe.write_text(MEASURE.format(width=width, srcdoc=srcdoc), encoding="utf-8")
    dom = chromium([f"--window-size={max(width, 500)},800", "--dump-dom", probe.as_uri()],
                   timeout)
    m = re.search(r'data-shot-height="(\d+)"', dom)
    if not m:
        raise ShotError("could not measure the page height (no data-shot-height in the DOM)")
    return int(m.group(1))


def shoot(page: Path, target: Path, width: int, height: int, dark: bool, timeout: float) -> None:
    tmp = target.with_name(f".tmp-{target.name}")      # Chromium wants a .png name
    chromium([f"--window-size={width},{height}", f"--screenshot={tmp}",
              *(DARK if dark else LIGHT), page.as_uri()], timeout)
    if not tmp.exists() or tmp.stat().st_size < 1000:
        raise ShotError(f"chromium wrote no screenshot to {tmp}")
    os.replace(tmp, target)


# -- just enough PNG to check a picture ---------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def png_rows(data: bytes, count: int) -> list[bytes]:
    """The first `count` rows of an 8-bit RGB or RGBA PNG, unfiltered (no Pillow needed)."""
    width, _ = png_size(data)
    depth, colour = data[24], data[25]
    if depth != 8 or colour not in (2, 6):
        raise ValueError(f"unsupported PNG (bit depth {depth}, colour type {colour})")
    bpp = 4 if colour == 6 else 3
    idat, pos = b"", 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    stride = width * bpp
    raw = zlib.decompressobj().decompress(idat, (stride + 1) * count)
    rows, prev = [], bytearray(stride)
    for r in range(count):
        line = raw[r * (stride + 1):(r + 1) * (stride + 1)]
        ftype, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                cur[i] = (cur[i] + a) & 255
            elif ftype == 2:
                cur[i] = (cur[i] + b) & 255
            elif ftype == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(cur))
        prev = cur
    return rows


def corner_brightness(path: Path) -> float:
    """Mean brightness (0-255) of the 4x4 pixels at the top-left corner: the page background."""
    data = path.read_bytes()
    colour = data[25]
    bpp = 4 if colour == 6 else 3
    rows = png_rows(data, 4)
    values = [sum(row[x * bpp:x * bpp + 3]) / 3 for row in rows for x in range(4)]
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=DEFAULT_HTML, help="the HTML to shoot")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    ap.add_argument("--phone-only", action="store_true", help="skip the desktop-width shot")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for one Chromium run")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"screenshot: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    if shutil.which("fc-list") and not subprocess.run(
            ["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout.strip():
        print("screenshot: warning: no Korean font installed (fonts-nanum); Hangul will show as "
              "boxes", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    heights: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="monitor-shot-") as work:
        page = Path(work) / "digest.html"
        shutil.copyfile(args.html, page)
        for name, width, dark in SHOTS:
            if args.phone_only and width > 420:
                continue
            if width not in heights:
                heights[width] = measure(page, width, args.timeout)
            target = args.out / name
            shoot(page, target, width, heights[width], dark, args.timeout)
            light = corner_brightness(target)
            if dark and light > 80 or not dark and light < 170:
                raise ShotError(f"{target}: background brightness {light:.0f} does not look "
                                f"{'dark' if dark else 'light'}")
            w, h = png_size(target.read_bytes())
            print(f"{target}: {w}x{h}, {'dark' if dark else 'light'} (background {light:.0f})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ShotError as e:
        print(f"screenshot: {e}", file=sys.stderr)
        sys.exit(1)
