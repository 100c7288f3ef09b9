"""The review page of a batch: one self-contained HTML file beside the JSON report (``REPORT.html``;
``report.html`` for a farm job's merged report). Pure Python (no bpy).

One row per manifest line: status, error, seconds, frames, channels mapped, seed, warnings (a
doubtful transcript, words pronounced from spelling, ignored manifest keys) and a small picture of
what the line does: its main curves (jaw open, smile, blinks, head yaw) as an inline SVG, drawn
from the compact summary the batch stores in the result's ``curves`` (``curve_summary``). The
table sorts by any column and filters by status and text; failures come first. Nothing is
loaded from elsewhere (the page's Content-Security-Policy forbids it), so the file can be mailed,
attached to a ticket or opened from a farm's output folder.

    python -m blender_addon.review REPORT.json [--out PAGE.html]     (the page of any report)
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.files import atomic_output

CURVE_POINTS = 48  # bins across the take: enough for the shape of a line, small in the report
YAW_RANGE_DEG = 10.0  # the picture's head-yaw scale: +-10 degrees fills its height
# what the picture draws, in this order: summary key -> (colour, legend)
CURVES = {
    "jawOpen": ("#d9480f", "jaw open (peak per bin)"),
    "smile": ("#2b8a3e", "smile (mean of left and right)"),
    "blink": ("#1c7ed6", "blinks (peak of either eye)"),
    "headYaw": ("#7048e8", f"head yaw (+-{YAW_RANGE_DEG:g} deg)"),
}
STATUS_ORDER = ("failed", "pending", "skipped", "ok")  # failures on top
SVG_W, SVG_H = 180, 40
MAX_THUMB_BYTES = 256 << 10  # a thumbnail larger than this is not inlined


def _bins(n: int, points: int) -> list[np.ndarray]:
    return [b for b in np.array_split(np.arange(n), min(points, n)) if len(b)]


def _numbers(values, scale: float, digits: int) -> str:
    """Space-separated numbers: one short line in the report (a JSON list would take a line each)."""
    return " ".join(f"{round(float(v) * scale, digits):g}" for v in values)


def curve_summary(track, points: int = CURVE_POINTS) -> dict[str, Any]:
    """The take's main curves, ``points`` bins across it, as space-separated numbers: jaw open and
    blinks (percent) as the peak of each bin (a blink is shorter than a bin), smile (percent) and
    head yaw (degrees) as the mean."""
    n = track.num_frames
    if n == 0:
        return {}
    bins = _bins(n, points)
    names = set(track.channels)

    def channel(name: str) -> np.ndarray:  # (T,)
        return np.asarray(track.channel(name), dtype=float) if name in names else np.zeros(n)

    smile = 0.5 * (channel("mouthSmileLeft") + channel("mouthSmileRight"))
    blink = np.maximum(channel("eyeBlinkLeft"), channel("eyeBlinkRight"))
    yaw = np.degrees(np.asarray(track.head, dtype=float)[:, 1]) if track.head is not None else np.zeros(n)
    return {
        "fps": float(track.fps), "frames": int(n), "units": "jawOpen, smile, blink: percent; headYaw: degrees",
        "jawOpen": _numbers([channel("jawOpen")[b].max() for b in bins], 100, 0),
        "smile": _numbers([smile[b].mean() for b in bins], 100, 0),
        "blink": _numbers([blink[b].max() for b in bins], 100, 0),
        "headYaw": _numbers([yaw[b].mean() for b in bins], 1, 1),
    }


def _finite(values: Any) -> list[float] | None:
    """A curve of the summary as numbers (space-separated, or a list); None when it is not one."""
    if isinstance(values, str):
        values = values.split()
    if not isinstance(values, list) or len(values) < 2:
        return None
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(v) for v in out) else None


def curves_svg(curves: Any) -> str:
    """The inline picture of a line's ``curves`` summary (an empty string when there is none)."""
    if not isinstance(curves, dict):
        return ""
    lines = []
    for key, (colour, _) in CURVES.items():
        values = _finite(curves.get(key))
        if values is None:
            continue
        if key == "headYaw":  # centred: +-YAW_RANGE_DEG spans the height
            ys = [0.5 - max(-1.0, min(1.0, v / YAW_RANGE_DEG)) * 0.5 for v in values]
        else:
            ys = [1.0 - max(0.0, min(1.0, v / 100.0)) for v in values]  # percent
        step = SVG_W / (len(ys) - 1)
        pts = " ".join(f"{i * step:.1f},{1 + y * (SVG_H - 2):.1f}" for i, y in enumerate(ys))
        dash = ' stroke-dasharray="3 2"' if key == "headYaw" else ""
        lines.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.3"{dash}/>')
    if not lines:
        return ""
    label = html.escape(_curves_title(curves))
    return (f'<svg class="curves" width="{SVG_W}" height="{SVG_H}" viewBox="0 0 {SVG_W} {SVG_H}" role="img" '
            f'aria-label="{label}"><title>{label}</title>'
            f'<line x1="0" y1="{SVG_H / 2}" x2="{SVG_W}" y2="{SVG_H / 2}" stroke="#e9ecef"/>{"".join(lines)}</svg>')


def _curves_title(curves: dict) -> str:
    parts = []
    for key in ("jawOpen", "smile", "blink"):
        values = _finite(curves.get(key))
        if values:
            parts.append(f"{key} max {max(values):.0f}%")
    yaw = _finite(curves.get("headYaw"))
    if yaw:
        parts.append(f"head yaw {min(yaw):+.1f}..{max(yaw):+.1f} deg")
    frames = curves.get("frames")
    return (f"{frames} frames: " if isinstance(frames, int) else "") + ", ".join(parts)


def thumbnail_img(path: Any) -> str:
    """The line's review thumbnail (``batch --preview-image``) inlined as a data: image, so the page
    stays one file; nothing when there is none or it cannot be read."""
    if not isinstance(path, str) or not path:
        return ""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_THUMB_BYTES + 1)
    except OSError:
        return ""
    if len(data) > MAX_THUMB_BYTES or not data.startswith(b"\x89PNG"):
        return ""
    return (f'<img class="thumb" alt="the line on the character picture" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode()}">')


def _cell(value: Any, cls: str = "", sort: Any = None) -> str:
    text = "" if value is None else str(value)
    attrs = f' class="{cls}"' if cls else ""
    if sort is not None:
        attrs += f' data-sort="{html.escape(str(sort), quote=True)}"'
    return f"<td{attrs}>{html.escape(text)}</td>"


def _row(job: dict) -> str:
    status = str(job.get("status") or "pending")
    rank = STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)
    warnings = job.get("warnings") or []
    warn_html = "".join(f"<li>{html.escape(str(w))}</li>" for w in warnings)
    output = job.get("output") or ""
    return (f'<tr data-status="{html.escape(status, quote=True)}" data-rank="{rank}">'
            + _cell(job.get("job"), "num", job.get("job") or 0)
            + _cell(job.get("name"), "name")
            + f'<td class="status" data-sort="{rank}"><span class="badge {html.escape(status)}">{html.escape(status)}</span></td>'
            + _cell(job.get("error"), "error")
            + _cell(f"{float(job.get('seconds') or 0):.2f}", "num", job.get("seconds") or 0)
            + _cell(job.get("frames") or "", "num", job.get("frames") or 0)
            + _cell(job.get("channels_mapped") or "", "num", job.get("channels_mapped") or 0)
            + _cell(job.get("seed"), "num", job.get("seed") if job.get("seed") is not None else -1)
            + f'<td class="warnings" data-sort="{len(warnings)}"><ul>{warn_html}</ul></td>'
            + f"<td class=\"picture\">{curves_svg(job.get('curves'))}{thumbnail_img(job.get('thumbnail'))}</td>"
            + f'<td class="output" title="{html.escape(str(output), quote=True)}">{html.escape(Path(output).name if output else "")}</td>'
            + "</tr>")


COLUMNS = ("#", "line", "status", "error", "seconds", "frames", "channels", "seed", "warnings", "curves", "output")

_CSS = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#212529}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#495057;margin-bottom:8px}
.bar{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin:8px 0}
.bar button{border:1px solid #adb5bd;background:#fff;border-radius:12px;padding:2px 10px;cursor:pointer}
.bar button.on{background:#343a40;color:#fff}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #dee2e6;padding:3px 6px;text-align:left;vertical-align:top}
th{position:sticky;top:0;background:#f8f9fa;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.error{color:#c92a2a;max-width:28em}
td.warnings ul{margin:0;padding-left:1.1em;color:#e67700}
.badge{border-radius:8px;padding:0 6px;font-weight:600}
.badge.ok{background:#d3f9d8}.badge.failed{background:#ffe3e3}.badge.skipped{background:#e7f5ff}.badge.pending{background:#fff3bf}
.legend span{margin-right:10px}.legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:3px}
img.thumb{display:block;margin-top:2px;border:1px solid #dee2e6;image-rendering:auto}
"""

_JS = """
(function(){
  var body=document.querySelector('#lines tbody');
  var rows=Array.prototype.slice.call(body.rows);
  var state={status:'all',text:'',col:-1,dir:1};
  function key(row,col){var c=row.cells[col];var s=c.getAttribute('data-sort');
    if(s!==null&&s!==''&&!isNaN(s))return parseFloat(s);return (c.textContent||'').toLowerCase();}
  function apply(){
    var shown=0;
    rows.forEach(function(r){
      var ok=(state.status==='all'||r.getAttribute('data-status')===state.status)&&
             (!state.text||r.textContent.toLowerCase().indexOf(state.text)>=0);
      r.hidden=!ok; if(ok)shown++;});
    document.getElementById('shown').textContent=shown+' of '+rows.length+' lines shown';
  }
  function sort(col){
    state.dir=(state.col===col)?-state.dir:1; state.col=col;
    rows.sort(function(a,b){var x=key(a,col),y=key(b,col);
      if(x<y)return -state.dir; if(x>y)return state.dir;
      return parseFloat(a.cells[0].getAttribute('data-sort'))-parseFloat(b.cells[0].getAttribute('data-sort'));});
    rows.forEach(function(r){body.appendChild(r);});
    document.querySelectorAll('#lines th').forEach(function(th,i){
      th.setAttribute('aria-sort',i===col?(state.dir>0?'ascending':'descending'):'none');});
  }
  document.querySelectorAll('#lines th').forEach(function(th,i){th.addEventListener('click',function(){sort(i);});});
  document.querySelectorAll('.bar button[data-filter]').forEach(function(b){
    b.addEventListener('click',function(){
      state.status=b.getAttribute('data-filter');
      document.querySelectorAll('.bar button[data-filter]').forEach(function(o){o.classList.toggle('on',o===b);});
      apply();});});
  document.getElementById('search').addEventListener('input',function(e){state.text=e.target.value.toLowerCase();apply();});
  apply();
})();
"""


def _ordered(jobs: Sequence[dict]) -> list[dict]:
    """Failures on top, then unfinished, skipped and done lines; manifest order within each."""
    def rank(job: dict) -> tuple[int, float]:
        status = job.get("status")
        return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER), float(job.get("job") or 0))
    return sorted(jobs, key=rank)


def _filters(jobs: Sequence[dict]) -> str:
    counts = {s: sum(j.get("status") == s for j in jobs) for s in STATUS_ORDER}
    buttons = [f'<button data-filter="all" class="on">all ({len(jobs)})</button>']
    buttons += [f'<button data-filter="{s}">{s} ({counts[s]})</button>' for s in STATUS_ORDER]
    return "".join(buttons)


def render_page(report: dict, title: str = "TalkCLIP batch") -> str:
    """The review page of a batch report (the dict ``jobs.write_report`` writes)."""
    jobs = [j for j in report.get("jobs") or [] if isinstance(j, dict)]
    summary = report.get("summary") or {}
    stats = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("ok", "failed", "skipped", "pending"))
    legend = "".join(f'<span><i style="background:{c}"></i>{html.escape(t)}</span>' for c, t in CURVES.values())
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    rows = "\n".join(_row(j) for j in _ordered(jobs))
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<div class="meta">{html.escape(str(report.get("manifest", "")))}<br>{len(jobs)} lines: {html.escape(stats)};
{float(summary.get("seconds") or 0):.1f} s</div>
<div class="bar">{_filters(jobs)}<input id="search" type="search" placeholder="filter text" aria-label="filter text">
<span id="shown"></span></div>
<div class="legend">{legend}</div>
<table id="lines"><thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody></table>
<script>{_JS}</script>
</body></html>
"""


def write_page(path: str | Path, report: dict, title: str = "TalkCLIP batch") -> Path:
    """Write the review page of ``report`` to ``path`` (atomically)."""
    with atomic_output(path, "w") as fh:
        fh.write(render_page(report, title))
    return Path(path)


def page_path(report: str | Path) -> Path:
    """Where the batch writes the review page of ``report``: REPORT.html beside it."""
    return Path(report).with_name("REPORT.html")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m blender_addon.review", description="Write the review page of a batch report.")
    p.add_argument("report", metavar="REPORT.json")
    p.add_argument("--out", metavar="PAGE.html", help="default: REPORT.html beside the report")
    args = p.parse_args(argv)
    try:
        report = json.loads(Path(args.report).read_text(encoding="utf-8"))
        out = write_page(args.out or page_path(args.report), report, title=f"TalkCLIP batch: {Path(args.report).name}")
    except (OSError, ValueError, TalkclipError) as exc:
        print(f"talkclip review: error: {args.report}: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
