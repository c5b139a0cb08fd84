#!/usr/bin/env python3
"""The chart of scripts/bench --accuracy: for each workload query, DPQL's
empirical RMSE (against the exact unbounded answer) as a share of the best
peer's (SmartNoise SQL, Google's library) at the same bounds and at the
catalog's default bounds (no declared structure). Below 1: DPQL is more
accurate. Standard library only.

Usage: bench/accuracy_chart.py RESULTS.accuracy.json OUT.svg
       bench/accuracy_chart.py --table RESULTS.accuracy.json   (the docs' markdown table)
"""
import json
import math
import sys
from xml.sax.saxutils import escape


def number(v, digits=2):
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.{digits}f}"


def table(report):
    lines = [
        "| query | bounds (groups × rows), mechanism | DPQL RMSE ± SE | DPQL p95 [95% CI] | "
        "bias RMS / mean error | DPQL noise RMSE | best peer, same bounds: noise / total RMSE | "
        "DPQL vs it | best peer, default bounds: total RMSE | DPQL vs it |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for q in report["queries"]:
        if "rmse" not in q:
            lines.append(f"| {q['name']} | {q.get('error', '')} | | | | | | | | |")
            continue
        plain = q.get("without_declared_structure") or {}
        bounds = f"({plain['max_groups']} × {plain['max_rows']})" if "max_groups" in plain else ""
        lines.append(
            f"| {q['name']} | {q['max_groups']} × {q['max_rows']}, {q['mechanism']} | "
            f"{number(q['rmse'])} ± {q['rmse_se']:.2f} | {number(q['p95'])} "
            f"[{number(q['p95_ci'][0])}, {number(q['p95_ci'][1])}] | "
            f"{number(q['bias_rms'])} / {number(q['mean_error'])} | {number(q['dpql_analytic_noise']['rmse'])} | "
            f"{number(q['best_peer_noise']['rmse'])} / {number(q['best_peer_total_rmse'])} | {q['verdict']} | "
            f"{number(plain.get('best_peer_total_rmse'))} {bounds} | "
            f"{q.get('verdict_without_declared_structure', '')} |")
    return "\n".join(lines)


def main(argv):
    if len(argv) == 3 and argv[1] == "--table":
        with open(argv[2], encoding="utf-8") as f:
            print(table(json.load(f)))
        return 0
    if len(argv) != 3:
        sys.stderr.write("usage: accuracy_chart.py RESULTS.accuracy.json OUT.svg\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        report = json.load(f)
    rows = []
    for q in report["queries"]:
        if "rmse" not in q:
            continue
        same = q.get("best_peer_total_rmse")
        plain = (q.get("without_declared_structure") or {}).get("best_peer_total_rmse")
        rows.append((q["name"], q["rmse"], q.get("rmse_se", 0), same, plain, q.get("bias_rms", 0)))

    bar, gap, left, width, top = 14, 16, 250, 420, 58
    height = top + len(rows) * (2 * bar + gap) + 60
    # A second panel to the right: the share of DPQL's squared error that is
    # the bias of bounding (bias RMS^2 / RMSE^2), the part more noise budget cannot remove.
    left2, width2 = left + width + 90, 160
    scale_max = 2.0  # ratios above are drawn to the edge and labelled
    x = lambda r: left + min(r, scale_max) / scale_max * width
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left2 + width2 + 60}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">Accuracy at ε = 1: DPQL RMSE ÷ best peer RMSE '
        f'({report["repetitions"]} releases, {report["rows"]:,} admissions)</text>',
        '<text x="10" y="38" fill="#555">below 1: DPQL more accurate; errors against the exact unbounded answer, '
        'bias included</text>',
    ]
    for tick in (0, 0.5, 1, 1.5, 2):
        tx = x(tick)
        colour = "#333" if tick == 1 else "#ddd"
        out.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{height - 40}" stroke="{colour}"/>')
        out.append(f'<text x="{tx:.1f}" y="{height - 26}" text-anchor="middle">{tick:g}</text>')
    out.append(f'<text x="{left2}" y="{top - 10}" font-weight="bold">bias share of RMSE²</text>')
    for tick in (0, 0.5, 1):
        tx = left2 + tick * width2
        out.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{height - 40}" stroke="#ddd"/>')
        out.append(f'<text x="{tx:.1f}" y="{height - 26}" text-anchor="middle">{tick * 100:g}%</text>')
    y = top
    series = (("the same bounds", "#3366cc", 3), ("the default bounds (no declared structure)", "#dd8833", 4))
    for name, rmse, se, same, plain, bias in rows:
        out.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{escape(name)}</text>')
        share = min(1.0, (bias / rmse) ** 2) if rmse > 0 else 0.0
        out.append(f'<rect x="{left2}" y="{y + bar // 2}" width="{share * width2:.1f}" height="{bar - 2}" '
                   f'fill="#999"><title>bias RMS {bias:.3g} of RMSE {rmse:.3g}</title></rect>')
        out.append(f'<text x="{left2 + share * width2 + 4:.1f}" y="{y + bar // 2 + bar - 3}">{share * 100:.0f}%</text>')
        for i, (label, colour, column) in enumerate(series):
            peer = (same, plain)[i]
            by = y + i * bar
            if peer is None or not peer or math.isnan(peer):
                out.append(f'<text x="{left + 4}" y="{by + bar - 3}" fill="#888">no peer figure</text>')
                continue
            ratio = rmse / peer
            out.append(f'<rect x="{left}" y="{by}" width="{x(ratio) - left:.1f}" height="{bar - 2}" '
                       f'fill="{colour}"><title>{escape(label)}: DPQL {rmse:.3g} ± {se:.2g} vs peer '
                       f'{peer:.3g}</title></rect>')
            out.append(f'<text x="{x(ratio) + 4:.1f}" y="{by + bar - 3}">{ratio:.2f}</text>')
        y += 2 * bar + gap
    ly = height - 12
    for i, (label, colour, _) in enumerate(series):
        lx = 10 + i * 260
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">÷ best peer at {escape(label)}</text>')
    out.append("</svg>")
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
