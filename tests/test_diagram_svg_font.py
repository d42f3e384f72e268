"""A Japanese SVG diagram carries its own font: the subset of IPAexGothic it uses, as an
@font-face data: URI. Checked with fontTools (every CJK character drawn has a glyph in the
embedded subset), in Debian's chromium through Playwright (the face loads from the file
alone, no console error, no network request; a screenshot is kept), and byte for byte across
two processes with different hash seeds."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli
from segverify.render.svg_font import FAMILY, needs_font

ROOT = Path(__file__).resolve().parent.parent
ALPHA = ROOT / "topologies/alpha.yaml"
FACE = re.compile(r"@font-face\{font-family:\"([^\"]+)\";src:url\(data:font/woff;base64,([^)]+)\)")

pytest.importorskip("japanize_matplotlib", reason="the font ships with japanize-matplotlib")
ttlib = pytest.importorskip("fontTools.ttLib", reason="fontTools comes with matplotlib")


def diagram(tmp_path: Path, lang: str, name: str, *extra: str) -> Path:
    out = tmp_path / name
    result = CliRunner().invoke(
        cli, ["--lang", lang, "diagram", "-t", str(ALPHA), *extra, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def drawn_text(svg: str) -> str:
    return "".join(re.findall(r"<text [^>]*>([^<]*)</text>", svg))


def test_the_embedded_subset_covers_every_japanese_character(tmp_path: Path) -> None:
    svg = diagram(tmp_path, "ja", "alpha.svg").read_text(encoding="utf-8")
    faces = FACE.findall(svg)
    assert len(faces) == 1 and faces[0][0] == FAMILY
    assert f"font-family=\"'{FAMILY}', IPAexGothic" in svg
    font = ttlib.TTFont(io.BytesIO(base64.b64decode(faces[0][1])))
    assert font.flavor == "woff"
    cmap = font.getBestCmap()
    cjk = {ch for ch in drawn_text(svg) if needs_font(ch)}
    assert {"マ", "利", "系"} <= cjk  # マイナンバー利用事務系 is drawn
    assert not [ch for ch in cjk if ord(ch) not in cmap]
    # a subset, not the whole font (IPAexGothic has some 15,000 glyphs)
    assert len(cmap) < len(cjk) + 200
    assert len(svg.encode("utf-8")) < 120_000
    # the font's copyright and licence travel with it
    names = {r.nameID for r in font["name"].names}
    assert {0, 13} <= names


def test_ascii_only_drawing_embeds_no_font_and_inline_svg_never_does() -> None:
    from segverify.render.scene import Scene, Text
    from segverify.render.scene_svg import to_svg

    ascii_only = Scene(200, 50, title="x", shapes=[Text(10, 20, "LGWAN zone -> inet", 12)])
    assert "@font-face" not in to_svg(ascii_only)
    japanese = Scene(200, 50, title="x", shapes=[Text(10, 20, "LGWAN接続系", 12)])
    assert "@font-face" in to_svg(japanese)
    # inline in an HTML page (strict CSP: no extra style or font) the page's fonts apply
    assert "@font-face" not in to_svg(japanese, standalone=False)


def test_byte_identical_across_processes(tmp_path: Path) -> None:
    digests = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}.svg"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        env.pop("SOURCE_DATE_EPOCH", None)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "segverify",
                "--lang",
                "ja",
                "diagram",
                "-t",
                str(ALPHA),
                "--view",
                "matrix",
                "-o",
                str(out),
            ],
            check=True,
            env=env,
            timeout=300,
        )
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    assert "@font-face" in (tmp_path / "seed1.svg").read_text(encoding="utf-8")


def test_chromium_renders_with_the_embedded_font(browser: Any, tmp_path: Path) -> None:
    svg_path = diagram(tmp_path, "ja", "alpha-ja.svg")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    console: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(svg_path.resolve().as_uri())
    faces = page.evaluate(
        """async () => {
            await document.fonts.ready;
            const out = [];
            document.fonts.forEach(f => out.push([f.family.replace(/"/g, ''), f.status]));
            return out;
        }"""
    )
    assert [FAMILY, "loaded"] in faces, faces
    assert page.evaluate(f"document.fonts.check('14px \"{FAMILY}\"', 'マイナンバー利用事務系')")
    # the text is laid out with the embedded face: its width equals the width the same
    # string gets when the embedded face is named alone (no fallback in between)
    widths = page.evaluate(
        f"""() => {{
            const ns = 'http://www.w3.org/2000/svg';
            const svg = document.documentElement;
            const w = family => {{
                const t = document.createElementNS(ns, 'text');
                t.setAttribute('font-size', '14');
                t.setAttribute('font-family', family);
                t.textContent = 'マイナンバー利用事務系';
                svg.appendChild(t);
                const width = t.getComputedTextLength();
                svg.removeChild(t);
                return width;
            }};
            return [w(getComputedStyle(svg).fontFamily), w('"{FAMILY}"')];
        }}"""
    )
    assert widths[0] == pytest.approx(widths[1]) and widths[0] > 100
    page.screenshot(path=str(tmp_path / "diagram-ja.png"))
    assert (tmp_path / "diagram-ja.png").stat().st_size > 10_000
    assert not console, console
    assert requests == [svg_path.resolve().as_uri()]  # the file itself, nothing else
    page.close()
