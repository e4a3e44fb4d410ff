"""docs/screenshot.py: the digest HTML in headless Chromium at phone width, light and dark. Needs
/usr/bin/chromium (Debian's chromium package); skipped where it is absent."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "docs" / "screenshot.py"
CHROMIUM = Path("/usr/bin/chromium")


def load_script():
    spec = importlib.util.spec_from_file_location("screenshot", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def png(width: int, rows: list[tuple[int, bytes]], colour: int = 2) -> bytes:
    """A PNG from already-filtered rows: (filter type, bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, 0)
    raw = b"".join(bytes([f]) + data for f, data in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_the_png_reader_undoes_each_filter():
    shot = load_script()
    # 2x5 RGB; row 0 raw, then Sub, Up, Average and Paeth filtered by hand
    rows = [(0, bytes([10, 20, 30, 40, 50, 60])),
            (1, bytes([1, 2, 3, 4, 4, 4])),            # Sub: 1,2,3, 5,6,7
            (2, bytes([1, 1, 1, 1, 1, 1])),            # Up: 2,3,4, 6,7,8
            (3, bytes([0, 0, 0, 0, 0, 0])),            # Average: 1,1,2, (1+6)//2=3, (1+7)//2=4, (2+8)//2=5
            (4, bytes([1, 1, 1, 1, 1, 1]))]            # Paeth
    data = png(2, rows)
    assert shot.png_size(data) == (2, 5)
    out = shot.png_rows(data, 5)
    assert out[0] == bytes([10, 20, 30, 40, 50, 60])
    assert out[1] == bytes([1, 2, 3, 5, 6, 7])
    assert out[2] == bytes([2, 3, 4, 6, 7, 8])
    assert out[3] == bytes([1, 1, 2, 3, 4, 5])
    # Paeth, first pixel: a=c=0, b=above → above+1; second: predictor of (left, above, upper-left)
    assert out[4][:3] == bytes([2, 2, 3])
    assert out[4][3:] == bytes([4, 5, 6])      # p=a+b-c=2+3-1=4 → closest is b=3: 3+1, ...


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed on this "
                    "machine (Debian package chromium); the screenshot needs a real browser")
def test_screenshot_script_writes_a_light_and_a_dark_phone_picture(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--phone-only",
                        "--timeout", "90"], capture_output=True, text=True, timeout=380,
                       cwd=str(ROOT))
    assert r.returncode == 0, r.stderr[-2000:]
    shot = load_script()
    light, dark = tmp_path / "digest.png", tmp_path / "digest-dark.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest-dark.png", "digest.png"]
    for path in (light, dark):
        data = path.read_bytes()
        width, height = shot.png_size(data)
        assert width == 420
        assert 1200 <= height <= 8000, height          # the whole page, not one screenful
        assert len(data) > 30_000                         # text was drawn, not a blank page
    assert shot.png_size(light.read_bytes()) == shot.png_size(dark.read_bytes())
    assert shot.corner_brightness(light) > 200           # #f4f5f7
    assert shot.corner_brightness(dark) < 50             # #16181d
    assert light.read_bytes() != dark.read_bytes()
