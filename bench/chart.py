"""The benchmark chart as a hand-written SVG (no plotting library).

Left: records/s per workload, Ferry vs Kafka Connect vs the broker limit
(solid: from process start; dashed outline: from the first record to the
last, the steady state). Right: peak RSS per workload.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

COLORS = {"ferry": "#d95f02", "connect": "#1f78b4", "broker": "#9a9a9a"}
LABELS = {"ferry": "Ferry", "connect": "Kafka Connect 4.3.1", "broker": "broker limit (Kafka perf tools)"}
WORKLOADS = (("source", "file source → topic", "producer"), ("sink", "topic → file sink", "consumer"),
             ("sink-lz4", "lz4 topic → file sink", "consumer"), ("sink-zstd", "zstd topic → file sink", "consumer"))


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= raw:
            return m * exp
    return 10 * exp


def _axis(vmax: float, divisions: int = 5) -> tuple[float, list[float]]:
    step = _nice_step(max(vmax, 1e-9) / divisions)
    top = step * math.ceil(max(vmax, 1e-9) / step)
    n = int(round(top / step))
    return top, [i * step for i in range(n + 1)]


def _short(v: float) -> str:
    if v == 0:
        return "0"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    if v >= 10:
        return f"{v:.0f}"
    return f"{v:.1f}"


class _Svg:
    def __init__(self, w: int, h: int):
        self.w, self.h = w, h
        self.parts: list[str] = []

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: str, size: int = 12, anchor: str = "start", weight: str = "normal",
             fill: str = "#222", rotate: float | None = None) -> None:
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{fill}"{tr}>{escape(s)}</text>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> None:
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                 f'fill="{fill}"{extra}/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#ccc", extra: str = "") -> None:
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>')

    def render(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">\n'
                f'<rect width="100%" height="100%" fill="white"/>\n')
        return head + "\n".join(self.parts) + "\n</svg>\n"


def _panel(svg: _Svg, x0: float, y0: float, w: float, h: float, title: str, groups: list[tuple[str, list]],
           unit_fmt, value_fmt) -> None:
    """groups: [(label, [(series, value, dashed_value_or_None), ...]), ...];
    a dashed value within 3 % of the solid one is not drawn."""
    vmax = max((max(v, d or 0) for _, bars in groups for _, v, d in bars), default=1.0)
    top, ticks = _axis(vmax * 1.08)
    svg.text(x0, y0 - 12, title, size=13, weight="bold")
    for t in ticks:
        y = y0 + h - h * t / top
        svg.line(x0, y, x0 + w, y, "#e3e3e3")
        svg.text(x0 - 6, y + 4, unit_fmt(t), size=11, anchor="end", fill="#555")
    svg.line(x0, y0 + h, x0 + w, y0 + h, "#888")
    gw = w / len(groups)
    for gi, (glabel, bars) in enumerate(groups):
        inner = gw * 0.78
        bw = inner / len(bars)
        gx = x0 + gi * gw + (gw - inner) / 2
        for bi, (series, v, dashed) in enumerate(bars):
            if dashed is not None and dashed <= v * 1.03:
                dashed = None
            bx = gx + bi * bw + bw * 0.08
            bwid = bw * 0.84
            if dashed and dashed > v:
                yd = y0 + h - h * dashed / top
                svg.rect(bx, yd, bwid, h * (dashed - v) / top, "none",
                         f' stroke="{COLORS[series]}" stroke-width="1.5" stroke-dasharray="4 3"')
                svg.text(bx + bwid / 2, yd - 4, value_fmt(dashed), size=10, anchor="middle", fill="#777")
            yv = y0 + h - h * v / top
            svg.rect(bx, yv, bwid, h * v / top, COLORS[series])
            label_y = yv - 4 if not (dashed and dashed > v) else yv + 13
            fill = "#222" if not (dashed and dashed > v) else "white"
            if dashed and dashed > v and h * v / top < 18:
                label_y, fill = yv - 4, "#222"
            svg.text(bx + bwid / 2, label_y, value_fmt(v), size=10, anchor="middle", fill=fill, weight="bold")
        svg.text(x0 + gi * gw + gw / 2, y0 + h + 18, glabel, size=12, anchor="middle")


def render(doc: dict) -> str:
    m, a, mi = doc["medians"], doc["args"], doc["machine"]
    shown = [w for w in WORKLOADS if w[0] in a.get("workloads", ("source", "sink"))]
    svg = _Svg(1000 + 160 * max(0, len(shown) - 2), 470)
    svg.text(30, 30, f"Ferry vs Apache Kafka Connect 4.3.1 — {a['records']:,} records × 100 B, "
                     f"median of {a['runs']} run(s)", size=16, weight="bold")
    svg.text(30, 50, f"{mi['nproc']} CPUs ({mi['cpu_model']}), {mi['memory_gib']} GiB RAM, Linux {mi['kernel']}; "
                     f"local single-node broker; StringConverter; FileStream connectors, tasks.max=1",
             size=11, fill="#555")

    tput = []
    for wl, label, limit in shown:
        bars = [(s, m[s][wl]["records_per_s"], m[s][wl].get("records_per_s_steady")) for s in ("ferry", "connect")]
        lim = m["broker"].get("limits", {}).get(wl, {})
        bars.append(("broker", lim.get("records_per_s") or m["broker"][f"{limit}_records_per_s"], None))
        tput.append((f"{label} (vs {limit} limit)", bars))
    tw = 540 + 110 * max(0, len(shown) - 2)
    _panel(svg, 90, 100, tw, 290, "Throughput, records/s (higher is better)", tput, _short, _short)

    rss = [(label, [(s, m[s][wl]["rss_peak_mib"], None) for s in ("ferry", "connect")]) for wl, label, _ in shown]
    _panel(svg, 190 + tw, 100, 240 + 50 * max(0, len(shown) - 2), 290, "Peak RSS, MiB (lower is better)", rss,
           lambda v: f"{v:g}", lambda v: f"{v:.0f}")

    # Legend.
    lx, ly = 90, 440
    for series in ("ferry", "connect", "broker"):
        svg.rect(lx, ly - 10, 12, 12, COLORS[series])
        svg.text(lx + 18, ly, LABELS[series], size=12)
        lx += 30 + 7.2 * len(LABELS[series])
    svg.rect(lx, ly - 10, 12, 12, "none", ' stroke="#666" stroke-width="1.5" stroke-dasharray="4 3"')
    svg.text(lx + 18, ly, "solid: from process start; dashed: first to last record", size=12)
    svg.text(30, 462, f"generated {doc.get('finished', '')} by bench/run.sh; raw numbers in the JSON next to this file",
             size=10, fill="#888")
    return svg.render()
