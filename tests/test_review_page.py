"""The batch's review page (blender_addon/review.py): one row per line, failures on top, text
escaped, nothing loaded from elsewhere, the curve picture; and in a real headless browser (Debian's
chromium): it loads without console errors, shows every line, and its filters and sorting work."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import synthetic_track

from blender_addon import review

pytestmark = pytest.mark.slow  # a real headless browser: run by scripts/test.sh --all and .ci/run

STATUSES = ["ok", "ok", "failed", "ok", "skipped", "ok", "ok", "pending", "ok", "failed", "ok", "ok"]


def _report(n: int = 12) -> dict:
    curves = review.curve_summary(synthetic_track(90, seed=3))
    jobs = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        jobs.append({"job": i + 1, "name": f"line{i + 1:02d}", "status": status,
                     "error": "audio missing.wav does not exist" if status == "failed" else None,
                     "seconds": round(0.1 * ((7 * i) % 12) + 0.05, 3), "frames": 90 if status == "ok" else 0,
                     "channels_mapped": 52 if status == "ok" else 0, "output": f"/x/out/line{i + 1:02d}.csv",
                     "seed": 1000 + i if status == "ok" else None,
                     "warnings": ["not in the pronunciation dictionary, pronounced from spelling: zorp"] if i == 3 else [],
                     "curves": curves if status == "ok" else None})
    counts = {s: sum(j["status"] == s for j in jobs) for s in ("ok", "failed", "skipped", "pending")}
    return {"manifest": "/x/jobs.json", "jobs": jobs, "summary": {"total": n, **counts, "seconds": 4.2}}


def _row_names(page: str) -> list[str]:
    return re.findall(r'<td class="name">([^<]*)</td>', page)


def test_one_row_per_line_failures_on_top():
    page = review.render_page(_report())
    names = _row_names(page)
    assert len(names) == 12 and sorted(names) == [f"line{i:02d}" for i in range(1, 13)]
    assert names[:2] == ["line03", "line10"]  # failed first, then pending, skipped, ok (manifest order within)
    assert names[2:4] == ["line08", "line05"] and names[4] == "line01"
    assert page.count("<svg") == 8  # a picture for each done line
    assert "pronounced from spelling: zorp" in page and "1003" in page


def test_page_is_self_contained_and_escapes_text():
    report = _report(2)
    report["jobs"][0].update(name='<script>alert("x")</script>', error="<img src=x onerror=alert(1)>")
    page = review.render_page(report)
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing from elsewhere
    assert "default-src 'none'" in page  # and the browser is told to load nothing


def test_curve_summary_keeps_blinks_and_shapes():
    track = synthetic_track(300, seed=1)
    arkit = track.arkit.copy()
    arkit[:, :] = 0.0
    blink = track.channels.index("eyeBlinkLeft")
    arkit[100:103, blink] = 1.0  # one 3-frame blink: a bin's peak keeps it
    track = type(track)(fps=track.fps, arkit=arkit, head=track.head, phones=track.phones, layers=track.layers, meta={})
    s = review.curve_summary(track)
    curve = {k: [float(v) for v in s[k].split()] for k in ("jawOpen", "smile", "blink", "headYaw")}
    assert s["frames"] == 300 and len(curve["jawOpen"]) == review.CURVE_POINTS
    assert max(curve["blink"]) == 100 and 1 <= sum(v > 0 for v in curve["blink"]) <= 2  # one bin, or two it straddles
    assert abs(max(curve["headYaw"]) - np.degrees(track.head[:, 1]).max()) < 0.5  # degrees
    assert max(curve["jawOpen"]) == 0 and len(json.dumps(s)) < 1000  # small in the report
    assert review.curves_svg(s).startswith("<svg") and review.curves_svg(None) == ""
    assert review.curves_svg({"jawOpen": ["x", 1]}) == ""  # a hand-edited report never breaks the page


# --- in a real browser ----------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000"]

ERRORS_HOOK = ("<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push("
               "String(e.message));});var ce=console.error;console.error=function(){window.__errors.push("
               "Array.prototype.join.call(arguments,' '));ce.apply(console,arguments);};</script>")

# clicks and types as a person would, after the page's own script ran; writes what it saw into the DOM
PROBE = """<script>(function(){
  function seen(){return Array.prototype.filter.call(document.querySelectorAll('#lines tbody tr'),
    function(r){return !r.hidden;}).map(function(r){return r.cells[1].textContent;});}
  var out={initial:seen()};
  function filter(s){document.querySelector('button[data-filter="'+s+'"]').click();return seen();}
  out.failed=filter('failed'); out.ok=filter('ok'); out.skipped=filter('skipped'); out.all=filter('all');
  var box=document.getElementById('search'); box.value='LINE1'; box.dispatchEvent(new Event('input'));
  out.search=seen(); box.value=''; box.dispatchEvent(new Event('input'));
  var th=document.querySelectorAll('#lines th');
  th[4].click(); out.bySeconds=seen(); th[0].click(); th[0].click(); out.byIndexDown=seen();
  out.shown=document.getElementById('shown').textContent; out.errors=window.__errors;
  var pre=document.createElement('pre'); pre.id='probe'; pre.textContent=JSON.stringify(out);
  document.body.appendChild(pre);})();</script>"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    return exe


def _load(page: Path, profile: Path) -> tuple[str, str]:
    proc = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_page_in_headless_chromium(tmp_path):
    report = _report(12)
    page = review.write_page(tmp_path / "REPORT.html", report, title="TalkCLIP batch: jobs.json")
    dom, log = _load(page, tmp_path / "profile-a")
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line or "Refused" in line]
    assert not console, console  # the page as written: no console messages at all
    assert dom.count("<tr data-status=") == 12 and "12 of 12 lines shown" in dom

    probed = tmp_path / "probed.html"
    text = page.read_text()
    probed.write_text(text.replace("<head>", "<head>" + ERRORS_HOOK, 1).replace("</body>", PROBE + "</body>", 1))
    dom, _ = _load(probed, tmp_path / "profile-b")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    seen = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    by_status = {s: [j["name"] for j in report["jobs"] if j["status"] == s] for s in ("failed", "ok", "skipped")}
    assert seen["errors"] == []
    assert len(seen["initial"]) == 12 and seen["initial"][:2] == by_status["failed"]  # failures on top
    for status in ("failed", "ok", "skipped"):
        assert sorted(seen[status]) == sorted(by_status[status]), status
    assert len(seen["all"]) == 12 and seen["search"] == ["line10", "line11", "line12"]
    seconds = {j["name"]: j["seconds"] for j in report["jobs"]}
    assert [seconds[n] for n in seen["bySeconds"]] == sorted(seconds.values())
    assert seen["byIndexDown"] == [f"line{i:02d}" for i in range(12, 0, -1)]
    assert seen["shown"] == "12 of 12 lines shown"


THUMB_PROBE = """<script>window.addEventListener('load',function(){
  var imgs=Array.prototype.map.call(document.querySelectorAll('img.thumb'),function(i){
    return [i.complete,i.naturalWidth,i.naturalHeight];});
  var pre=document.createElement('pre'); pre.id='probe'; pre.textContent=JSON.stringify(imgs);
  document.body.appendChild(pre);});</script>"""


def test_review_thumbnails_are_inlined_and_shown_in_chromium(tmp_path):
    """batch --preview-image: each line's thumbnail file is inlined (the page stays one file) and
    decodes in the browser under the page's Content-Security-Policy; a missing one is left out."""
    from exporters.png import write_png

    report = _report(3)
    strip = np.zeros((64, 256, 3), np.uint8)
    strip[:, :, 0] = np.arange(256, dtype=np.uint8)[None, :]
    write_png(tmp_path / "00001.png", strip)
    report["jobs"][0]["thumbnail"] = str(tmp_path / "00001.png")
    report["jobs"][1]["thumbnail"] = str(tmp_path / "gone.png")
    page = review.write_page(tmp_path / "REPORT.html", report)
    text = page.read_text()
    assert text.count('<img class="thumb"') == 1 and 'src="data:image/png;base64,' in text
    dom, log = _load(page, tmp_path / "profile-a")
    assert not [line for line in log.splitlines() if "Refused" in line or "CONSOLE" in line], log[-2000:]
    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("</body>", THUMB_PROBE + "</body>", 1))
    dom, _ = _load(probed, tmp_path / "profile-b")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    assert json.loads(found.group(1)) == [[True, 256, 64]]
