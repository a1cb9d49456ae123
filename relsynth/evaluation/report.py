"""The HTML report: one self-contained page drawn from an evaluation result (see run.py).

Everything is inline: the styles, plotly.js (once), the figures as JSON specs and a small script
that draws a figure when it scrolls into view inside an opened section, so a 40-table report
opens at once. The schema graph is an SVG laid out here (layers by depth). Every string that
comes from the database (table, column and category names) is escaped. The renderer reads the
result defensively: a missing or null part is left out, never a crash.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

log = logging.getLogger("relsynth")

REAL = "#4c78a8"
SYNTH = "#f58518"
FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
SHOWN_TRENDS = 10
REFERENCE_EDGES_SHOWN = 25


# -- small helpers ------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _num_or(value: Any, default: float) -> float:
    """_num, with ``default`` for what is not a finite number (a sort key that puts those last)."""
    number = _num(value)
    return default if number is None else number


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fmt(value: Any, digits: int = 3) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{v:.{digits}f}"


def _pct(value: Any, digits: int = 1) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{100 * v:.{digits}f}%"


def _int(value: Any) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{int(v):,}"


def _grade(score: Any) -> str:
    v = _num(score)
    if v is None:
        return "na"
    return "good" if v >= 0.9 else "fair" if v >= 0.75 else "poor"


def _auc_grade(auc: Any) -> str:
    v = _num(auc)
    if v is None:
        return "na"
    return "good" if v <= 0.6 else "fair" if v <= 0.8 else "poor"


def _chip(text: str, grade: str, title: str = "") -> str:
    tip = f' title="{_e(title)}"' if title else ""
    return f'<span class="chip {grade}"{tip}>{_e(text)}</span>'


def _score_chip(label: str, score: Any) -> str:
    return _chip(f"{label} {_fmt(score, 2)}".strip(), _grade(score))


def _bar(score: Any, grade: str | None = None) -> str:
    v = _num(score)
    width = 0.0 if v is None else max(0.0, min(1.0, v)) * 100
    return (
        f'<span class="bar"><span class="{grade or _grade(score)}" style="width:{width:.1f}%"></span></span>'
    )


def _trunc(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _pt(text: Any, n: int | None = None) -> str:
    """Text for plotly, which reads a little HTML: escape it so names show as written."""
    s = "" if text is None else str(text)
    return html.escape(_trunc(s, n) if n else s, quote=False)


def _round(values: Any) -> list[float | None]:
    out: list[float | None] = []
    for v in _list(values):
        x = _num(v)
        out.append(None if x is None else float(f"{x:.5g}"))
    return out


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become null (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _script_json(value: Any) -> str:
    text = json.dumps(_clean(value), separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _table(headers: list[str], rows: list[list[str]], cls: str = "grid") -> str:
    """Rows are HTML already (cells escaped by the caller)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _kv(items: list[tuple[str, str]]) -> str:
    """Label/value pairs; values are HTML already."""
    return '<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _compact(value: Any) -> str:
    v = _num(value)
    if v is None:
        return "n/a"
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= size:
            return f"{v / size:.3g}{unit}" if unit != "k" else f"{v / 1e3:.0f}k"
    return f"{int(v):,}"


def _when(seconds: float, fine: bool) -> str | None:
    try:
        d = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    day = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    return f"{day} {d.hour:02d}:{d.minute:02d}:{d.second:02d}" if fine else day


class _Anchors:
    """Stable, unique, URL-safe ids for names that come from the database."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], str] = {}
        self.used: set[str] = set()

    def __call__(self, kind: str, name: Any) -> str:
        key = (kind, str(name))
        if key not in self.ids:
            base = f"{kind}-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "x")
            anchor, i = base, 1
            while anchor in self.used:
                i += 1
                anchor = f"{base}-{i}"
            self.used.add(anchor)
            self.ids[key] = anchor
        return self.ids[key]

    def get(self, kind: str, name: Any) -> str | None:
        return self.ids.get((kind, str(name)))


class _Figures:
    """Plotly figure specs, drawn in the browser when their box scrolls into view."""

    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}

    def add(self, data: list[dict[str, Any]], layout: dict[str, Any], height: int = 250) -> str:
        fid = f"f{len(self.specs)}"
        base: dict[str, Any] = {
            "height": height,
            "autosize": True,
            "margin": {"l": 50, "r": 12, "t": 28, "b": 44},
            "font": {"family": FONT, "size": 11, "color": "#333"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "#ffffff",
            "showlegend": len(data) > 1,
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"size": 10}},
            "hoverlabel": {"font": {"size": 11}},
        }
        self.specs[fid] = {"data": data, "layout": {**base, **layout}}
        return f'<div class="plot" data-fig="{fid}" style="height:{height}px"></div>'


# -- figures ------------------------------------------------------------------------------------
def _series(values: Any, n: int) -> list[float | None] | None:
    values = _list(values)
    return _round(values) if len(values) == n and n else None


def _hist_figure(figs: _Figures, plot: dict[str, Any], is_date: bool) -> str | None:
    edges = [_num(e) for e in _list(plot.get("edges"))]
    if len(edges) < 2 or any(e is None for e in edges):
        return None
    lo_hi = list(itertools.pairwise(edges))
    n = len(lo_hi)
    real, synth = _series(plot.get("real"), n), _series(plot.get("synthetic"), n)
    if real is None and synth is None:
        return None
    x: list[Any] = [(a + b) / 2 for a, b in lo_hi]  # type: ignore[operator]
    width: list[float] = [b - a for a, b in lo_hi]  # type: ignore[operator]
    ranges = [f"{a:.4g} – {b:.4g}" for a, b in lo_hi]
    xaxis: dict[str, Any] = {"gridcolor": "#eee", "zeroline": False}
    if is_date:
        fine = min(width) < 2 * 86400
        dates = [_when(c, fine) for c in x]
        bounds = [(_when(a, fine), _when(b, fine)) for a, b in lo_hi]  # type: ignore[arg-type]
        if all(dates) and all(a and b for a, b in bounds):
            x, width = dates, [w * 1000 for w in width]  # a date axis measures widths in milliseconds
            ranges = [f"{a} – {b}" for a, b in bounds]
            xaxis["type"] = "date"
    traces = []
    for name, ys, color in (("real", real, REAL), ("synthetic", synth, SYNTH)):
        if ys is None:
            continue
        traces.append(
            {
                "type": "bar",
                "name": name,
                "x": x,
                "y": ys,
                "width": width,
                "customdata": ranges,
                "marker": {"color": color, "line": {"width": 0}},
                "opacity": 0.55 if real is not None and synth is not None else 0.85,
                "hovertemplate": "%{customdata}<br>%{y:.1%}<extra>" + name + "</extra>",
            }
        )
    layout = {
        "barmode": "overlay",
        "bargap": 0,
        "xaxis": xaxis,
        "yaxis": {"tickformat": ".0%", "gridcolor": "#eee", "rangemode": "tozero"},
    }
    return figs.add(traces, layout)


def _bar_figure(
    figs: _Figures,
    labels: list[str],
    real: Any,
    synth: Any,
    *,
    height: int = 250,
    title: str | None = None,
) -> str | None:
    n = len(labels)
    r, s = _series(real, n), _series(synth, n)
    if not n or (r is None and s is None):
        return None
    idx = list(range(n))
    hover = [_pt(v) for v in labels]
    ticks = [_pt(v, 16) for v in labels]
    if all(re.fullmatch(r"category \d+", v) for v in labels):  # shareable: numbered, not named
        ticks, title = [v.split()[1] for v in labels], title or "category (numbered: values left out)"
    traces = []
    for name, ys, color in (("real", r, REAL), ("synthetic", s, SYNTH)):
        if ys is None:
            continue
        traces.append(
            {
                "type": "bar",
                "name": name,
                "x": idx,
                "y": ys,
                "customdata": hover,
                "marker": {"color": color},
                "hovertemplate": "%{customdata}<br>%{y:.1%}<extra>" + name + "</extra>",
            }
        )
    layout = {
        "barmode": "group",
        "bargap": 0.2,
        "xaxis": {
            "tickmode": "array",
            "tickvals": idx,
            "ticktext": ticks,
            "tickangle": -40 if n > 6 and max(len(t) for t in ticks) > 3 else 0,
            "automargin": True,
            **({"title": {"text": _pt(title), "font": {"size": 10}}} if title else {}),
        },
        "yaxis": {"tickformat": ".0%", "gridcolor": "#eee", "rangemode": "tozero"},
    }
    return figs.add(traces, layout, height=height)


def _heatmap(figs: _Figures, columns: list[str], matrix: Any, title: str) -> str | None:
    n = len(columns)
    rows = _list(matrix)
    if n < 2 or len(rows) != n or any(len(_list(r)) != n for r in rows):
        return None
    z = [_round(r) for r in rows]
    names = [_pt(c, 18) for c in columns]
    if len(set(names)) < n:  # truncation made two names equal: keep them apart
        names = [f"{i + 1}. {v}" for i, v in enumerate(names)]
    trace: dict[str, Any] = {
        "type": "heatmap",
        "z": z,
        "x": names,
        "y": names,
        "zmin": -1,
        "zmax": 1,
        "colorscale": [
            [0, "#2166ac"],
            [0.25, "#92c5de"],
            [0.5, "#f7f7f7"],
            [0.75, "#f4a582"],
            [1, "#b2182b"],
        ],
        "colorbar": {"thickness": 10, "len": 0.9},
        "hovertemplate": "%{y} × %{x}<br>ρ = %{z:.2f}<extra></extra>",
    }
    if n <= 8:
        trace["texttemplate"] = "%{z:.2f}"
        trace["textfont"] = {"size": 10}
    layout = {
        "title": {"text": _pt(title), "font": {"size": 12}, "x": 0.02},
        "xaxis": {"type": "category", "tickangle": -40, "automargin": True},
        "yaxis": {"type": "category", "autorange": "reversed", "automargin": True},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "plot_bgcolor": "#fff",
    }
    return figs.add([trace], layout, height=min(620, 150 + 30 * n))


def _count_labels(edges: list[float]) -> list[str]:
    out = []
    for a, b in itertools.pairwise(edges):
        lo, hi = math.ceil(a), math.ceil(b) - 1
        if lo == hi:
            out.append(str(lo))
        elif lo < hi:
            out.append(f"{lo}–{hi}")
        else:
            out.append(f"[{a:g}, {b:g})")
    return out


# -- sections -----------------------------------------------------------------------------------
def _banner(result: dict[str, Any]) -> str:
    if result.get("shareable"):
        return (
            '<div class="banner safe" id="banner"><strong>Shareable report.</strong> It holds no '
            "source-side detail: no real histograms or correlations, no category values from the "
            "source (categories are numbered), no rare values. Scores, row counts and synthetic-side "
            "plots remain.</div>"
        )
    return (
        '<div class="banner danger" id="banner"><strong>This report contains values and plots from the '
        "source database</strong> (real histograms, category values, correlations, rare values): share "
        "it only as carefully as the source database itself. Evaluate with <code>--shareable</code> for "
        "a copy without source-side detail.</div>"
    )


def _summary(result: dict[str, Any], anchors: _Anchors) -> str:
    s = _dict(result.get("scores"))
    tables = _dict(result.get("tables"))
    rels = _list(result.get("relationships"))
    meta = (
        f"source <code>{_e(result.get('source', 'source'))}</code> · synthetic "
        f"<code>{_e(result.get('synthetic', 'synthetic'))}</code> · {len(tables)} data tables compared · "
        f"{len(rels)} relationships"
    )
    detect, apart = _detection_card(s, tables, anchors)
    quality = _quality_card(s, _dict(result.get("sdmetrics")), apart)
    problems = _num(s.get("integrity_problems"))
    if problems is None:
        problems = _num(_dict(result.get("integrity")).get("problems"))
    integ = (
        '<div class="card"><h3>Integrity</h3>'
        f'<div class="big {"na" if problems is None else "good" if problems == 0 else "poor"}">'
        f"{_int(problems)}</div><div class='sub'>problems: orphans, duplicate keys, NULLs in NOT NULL "
        "columns, CHECK violations (<a href='#integrity'>details</a>)</div></div>"
    )
    cards = [detect, quality, integ, _privacy_card(s, anchors)]
    if "utility" in result:
        cards.append(_utility_card(_dict(result.get("utility"))))
    if _dict(result.get("sdmetrics")).get("diagnostic"):
        cards.append(_sdmetrics_card(_dict(result.get("sdmetrics"))))
    worst = _dict(result.get("worst"))
    wc_rows = []
    for w in _list(worst.get("columns"))[:5]:
        w = _dict(w)
        link = anchors.get("table", w.get("table"))
        name = f"{_e(w.get('table'))}.{_e(w.get('column'))}"
        wc_rows.append(
            [
                f'<a href="#{link}">{name}</a>' if link else name,
                _e(w.get("metric", "")),
                f'<span class="num {_grade(w.get("score"))}">{_fmt(w.get("score"), 2)}</span>'
                + _bar(w.get("score")),
            ]
        )
    wr_rows = []
    for w in _list(worst.get("relationships"))[:5]:
        w = _dict(w)
        link = anchors.get("rel", w.get("fk"))
        label = _e(w.get("fk"))
        wr_rows.append(
            [
                f'<a href="#{link}">{label}</a>' if link else label,
                f'<span class="num {_grade(w.get("cardinality"))}">{_fmt(w.get("cardinality"), 2)}</span>',
                f'<span class="num {_grade(w.get("trend_score"))}">{_fmt(w.get("trend_score"), 2)}</span>',
            ]
        )
    worst_html = '<div class="two">'
    worst_html += "<div><h3>Weakest columns</h3>" + (
        _table(["column", "metric", "score"], wc_rows) if wc_rows else "<p class='muted'>none</p>"
    )
    worst_html += "</div><div><h3>Weakest relationships</h3>" + (
        _table(["foreign key", "cardinality", "trends"], wr_rows) if wr_rows else "<p class='muted'>none</p>"
    )
    worst_html += "</div></div>"
    return (
        f'<section id="summary"><h1>relsynth evaluation report</h1><p class="meta">{meta}</p>'
        f'<div class="cards">{"".join(cards)}</div>{worst_html}</section>'
    )


def _features(detect: dict[str, Any], k: int = 5) -> str:
    """What gives a table away: the classifier's top features (column and child-table names, never
    values) with their share of the AUC lost when each is shuffled."""
    top = [_dict(f) for f in _list(detect.get("top_features"))]
    top = [f for f in top if (_num(f.get("share")) or 0) > 0][:k]
    return ", ".join(f"<code>{_e(f.get('feature'))}</code> {_pct(f.get('share'), 0)}" for f in top)


def _detection_card(s: dict[str, Any], tables: dict[str, Any], anchors: _Anchors) -> tuple[str, list[str]]:
    """The lead card: how many tables a classifier tells from the source, the worst AUC, and for
    each table told apart what gives it away. Returns the card and the tables told apart."""
    from relsynth.evaluation.summary import TOLD_APART_AUC

    d = _dict(s.get("detection"))
    threshold = _num(d.get("threshold_auc")) or TOLD_APART_AUC
    judged = {
        str(n): _dict(t.get("detectability"))
        for n, t in tables.items()
        if isinstance(t, dict)
        and _dict(t.get("detectability")).get("available")
        and _num(_dict(t.get("detectability")).get("auc")) is not None
    }
    aucs = {n: _num(x.get("auc")) or 0.0 for n, x in judged.items()}
    ranked = sorted(aucs, key=lambda n: -aucs[n])
    apart = [n for n in ranked if aucs[n] >= threshold]
    worst = aucs[ranked[0]] if ranked else None
    grade = "na" if not judged else "poor" if apart else "good"
    big = f"{len(apart)} of {len(judged)}" if judged else "n/a"
    shown = apart or ranked[:3]
    rows = "".join(
        f'<li><a href="#{anchors("table", n)}">{_e(n)}</a> {_chip(f"AUC {aucs[n]:.2f}", _auc_grade(aucs[n]))}'
        + (f" given away by {_features(judged[n])}" if _features(judged[n]) else "")
        + "</li>"
        for n in shown
    )
    heading = "told apart, worst first" if apart else "hardest to tell apart among them:"
    card = (
        '<div class="card wide" id="detection"><h3>Detection</h3><div class="big-row"><div>'
        f'<div class="big {grade}">{_e(big)}</div>'
        f"<div class='sub'>tables a classifier tells from the source (cross-validated ROC AUC ≥ "
        f"{threshold:g}; 0.5 = indistinguishable, 1.0 = always told apart). Worst AUC "
        f"{_fmt(worst, 2)}, mean {_fmt(s.get('detectability_auc'), 2)}.</div></div>"
        + (
            f"<div class='props'><div class='sub'>{heading}</div><ul class='tight'>{rows}</ul>"
            + (
                "<div class='sub'>what gives a table away (share of the AUC lost when the feature is "
                "shuffled) is what not to trust in it</div>"
                if apart
                else ""
            )
            + "</div>"
            if rows
            else ""
        )
        + "</div></div>"
    )
    return card, apart


def _quality_card(s: dict[str, Any], sd: dict[str, Any], apart: list[str]) -> str:
    """sdmetrics' QualityReport beside relsynth's own score, property by property. Never a big
    green number while a classifier tells tables apart: an average of columns and pairs does not
    see what gives those tables away."""
    from relsynth.evaluation.summary import QUALITY_GAP

    q = _dict(sd.get("quality"))
    sd_props = _dict(q.get("properties"))
    sd_score = _num(q.get("score"))
    ours = _num(s.get("overall"))
    headline = sd_score if sd_score is not None else ours
    grade = "na" if apart else _grade(headline)
    props = [
        (
            "Column shapes",
            "column_shapes",
            "Column Shapes",
            "each column's distribution (KS / TV complement)",
        ),
        ("Column pairs", "column_pairs", "Column Pair Trends", "pairs of columns in a table"),
        ("Cardinality", "cardinality", "Cardinality", "how many children each parent row has"),
        ("Parent-child trends", "parent_child", "Intertable Trends", "pairs of a parent and a child column"),
    ]
    head = (
        '<div class="prop"><span class="plabel"></span><span class="pnum small">sdmetrics</span>'
        '<span class="pnum small">relsynth</span></div>'
    )

    def cell(v: Any) -> str:
        return f'<span class="pnum {"na" if apart else _grade(v)}">{_fmt(v, 2)}</span>'

    prop_rows = head + "".join(
        f'<div class="prop" title="{_e(tip)}"><span class="plabel">{_e(label)}</span>'
        f"{cell(sd_props.get(sd_key))}{cell(s.get(key))}</div>"
        for label, key, sd_key, tip in props
    )
    if sd_score is None:
        source = f"relsynth's own score; sdmetrics could not reproduce it: {_e(sd.get('error') or 'not run')}"
    else:
        source = f"sdmetrics' QualityReport on the same rows and columns; relsynth's own: {_fmt(ours, 2)}"
    notes = []
    gap = None if sd_score is None or ours is None else ours - sd_score
    if gap is not None and abs(gap) > QUALITY_GAP:
        notes.append(
            f"relsynth's own score is {abs(gap):.2f} {'above' if gap > 0 else 'below'} sdmetrics': "
            "quote sdmetrics'"
        )
    if apart:
        many = len(apart) != 1
        notes.append(
            f"{len(apart)} table{'s' if many else ''} told apart by a classifier: these averages do "
            f"not see what gives {'them' if many else 'it'} away"
        )
    return (
        '<div class="card wide" id="quality"><h3>Quality</h3><div class="big-row"><div>'
        f'<div class="big {grade}">{_fmt(headline, 2)}</div>'
        f"{_bar(headline, grade)}<div class='sub'>{source} (1.0 = same distributions)</div>"
        + "".join(f"<div class='sub'><b>{_e(n)}</b></div>" for n in notes)
        + f'</div><div class="props q">{prop_rows}</div></div>'
        f"<div class='sub'>mean difference of NULL rates: {_pct(s.get('null_rate_diff'), 2)}</div></div>"
    )


def _privacy_card(s: dict[str, Any], anchors: _Anchors) -> str:
    p = _dict(s.get("privacy"))
    copies = _num(s.get("exact_copies"))
    near = _num(s.get("near_copies")) or 0
    flagged = [str(f) for f in _list(p.get("flagged_tables"))]
    holdout = bool(p.get("holdout"))
    if (copies or 0) > 0 or near > 0 or flagged:
        verdict, grade = "attention", "poor"
    elif copies is None:
        verdict, grade = "n/a", "na"
    elif holdout and _list(p.get("inconclusive_tables")):
        verdict, grade = "no copies found", "fair"
    elif holdout:
        verdict, grade = "passed", "good"
    else:
        verdict, grade = "no copies found", "fair"
    lines = [
        f"<li><b>{_int(copies)}</b> synthetic rows copy a unique source record</li>",
        f"<li><b>{_int(near)}</b> synthetic rows copy one but for one column or its personal data</li>",
    ]
    if holdout:
        if flagged:
            links = ", ".join(
                f'<a href="#{anchors.get("table", f) or ""}">{_e(f)}</a>'
                if anchors.get("table", f)
                else _e(f)
                for f in flagged
            )
            lines.append(
                f"<li>synthetic rows sit closer to training rows than to held-out rows in: {links}</li>"
            )
        else:
            lines.append(
                "<li>holdout comparison: no table sits closer to training rows than to held-out rows</li>"
            )
        if p.get("attacks_run"):
            risky = [str(f) for f in _list(p.get("attack_risk_tables"))]
            found = f"risk above 0 in {_e(', '.join(risky))}" if risky else "no risk interval above 0"
            lines.append(f"<li>attacks (singling out, linkability, inference): {found}</li>")
        if p.get("model_membership_run"):
            members = [str(f) for f in _list(p.get("model_membership_tables"))]
            found = f"flagged in {_e(', '.join(members))}" if members else "no table flagged"
            lines.append(f"<li>membership from the model file: {found}</li>")
        undecided = [str(f) for f in _list(p.get("inconclusive_tables"))]
        if undecided:
            lines.append(
                f"<li>too many ties to tell training from held-out rows in: {_e(', '.join(undecided))}</li>"
            )
    else:
        lines.append(f"<li>{_e(p.get('note') or 'no holdout comparison')}</li>")
    return (
        '<div class="card"><h3>Privacy</h3>'
        f'<div class="big {grade}">{_e(verdict)}</div><ul class="tight">{"".join(lines)}</ul></div>'
    )


def _utility_card(u: dict[str, Any]) -> str:
    if not u.get("available"):
        return (
            '<div class="card"><h3>Utility</h3><div class="big na">n/a</div>'
            f"<div class='sub'>not computed: {_e(u.get('reason') or 'no result')}</div></div>"
        )
    rows = "".join(
        f'<div class="prop"><span class="plabel">{label}</span><span class="pnum">{_fmt(v, 3)}</span>'
        f"{_bar(v, 'info')}</div>"
        for label, v in (
            ("TRTR: trained on real", u.get("trtr")),
            ("TSTR: trained on synthetic", u.get("tstr")),
        )
    )
    ratio = _num(u.get("ratio"))
    return (
        '<div class="card"><h3>Utility</h3>'
        f'<div class="big {_grade(ratio)}">{_fmt(ratio, 2)}</div>'
        f"<div class='sub'>TSTR / TRTR for <code>{_e(u.get('target'))}</code> ({_e(u.get('task'))}, "
        f"{_e(u.get('metric'))}, {_int(u.get('test_rows'))} real test rows)</div>"
        f'<div class="props">{rows}</div></div>'
    )


def _sdmetrics_card(sd: dict[str, Any]) -> str:
    if sd.get("error") or not sd:
        return (
            '<div class="card"><h3>sdmetrics</h3><div class="big na">n/a</div>'
            f"<div class='sub'>{_e(sd.get('error') or 'no result')}</div></div>"
        )
    parts = []
    for key, title in (("diagnostic", "DiagnosticReport"),):
        rep = _dict(sd.get(key))
        if not rep:
            continue
        props = "".join(
            f'<div class="prop"><span class="plabel">{_e(p)}</span>'
            f'<span class="pnum {_grade(v)}">{_fmt(v, 2)}</span>{_bar(v)}</div>'
            for p, v in _dict(rep.get("properties")).items()
        )
        parts.append(
            f'<div class="sdm"><div class="plabel"><b>{title}</b> '
            f'<span class="num {_grade(rep.get("score"))}">{_fmt(rep.get("score"), 3)}</span></div>'
            f"{props}</div>"
        )
    return '<div class="card wide"><h3>sdmetrics</h3><div class="sdms">' + "".join(parts) + "</div></div>"


# -- schema graph -------------------------------------------------------------------------------
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 178, 44, 70, 14, 24
EDGE_STYLE = {
    "reference": ("#9e9e9e", 1.0, "2 3", 0.55),
    "secondary": ("#5c6f82", 1.2, "6 4", 0.9),
    "context": ("#37474f", 1.7, "", 1.0),
    "cut": ("#d32f2f", 1.5, "", 1.0),
    "self": ("#7b1fa2", 1.3, "", 1.0),
}
EDGE_WEIGHT = {"context": 3.0, "secondary": 1.5, "cut": 0.5, "reference": 0.3}


def _graph_svg(graph: dict[str, Any], anchors: _Anchors, *, hide_reference: bool = False) -> str:
    nodes: dict[str, dict[str, Any]] = {}
    for n in _list(graph.get("nodes")):
        if isinstance(n, dict) and n.get("name") is not None and str(n["name"]) not in nodes:
            nodes[str(n["name"])] = n
    if not nodes:
        return "<p class='muted'>no schema graph in this result</p>"
    depth = {name: int(_num(n.get("depth")) or 0) for name, n in nodes.items()}
    levels = sorted(set(depth.values()))
    layer_of = {name: levels.index(d) for name, d in depth.items()}
    layers: list[list[str]] = [[] for _ in levels]
    for name in nodes:
        layers[layer_of[name]].append(name)
    edges = [
        e
        for e in (_dict(x) for x in _list(graph.get("edges")))
        if str(e.get("parent")) in nodes and str(e.get("child")) in nodes
    ]
    tallest = max(len(layer) for layer in layers)

    def height_of(k: int) -> float:
        return k * BOX_H + max(k - 1, 0) * GAP_Y

    total_h = height_of(tallest)

    def y_of(name: str) -> float:
        layer = layers[layer_of[name]]
        top = PAD + (total_h - height_of(len(layer))) / 2
        return top + layer.index(name) * (BOX_H + GAP_Y)

    # Barycentre sweeps: order each layer by the mean height of its neighbours in the others.
    links: dict[str, list[tuple[str, float]]] = {n: [] for n in nodes}
    for e in edges:
        p, c, w = str(e["parent"]), str(e["child"]), EDGE_WEIGHT.get(str(e.get("kind")), 0.0)
        if p != c and w:
            links[p].append((c, w))
            links[c].append((p, w))
    for sweep in range(6):
        order = range(len(layers)) if sweep % 2 == 0 else reversed(range(len(layers)))
        for li in order:
            current = {n: y_of(n) for n in layers[li]}

            def key(n: str, current: dict[str, float] = current, li: int = li) -> float:
                near = [(y_of(m), w) for m, w in links[n] if layer_of[m] != li]
                total = sum(w for _, w in near)
                return sum(y * w for y, w in near) / total if total else current[n]

            layers[li] = sorted(layers[li], key=key)
    total_w = PAD * 2 + len(layers) * BOX_W + (len(layers) - 1) * GAP_X + 40
    total_h_px = total_h + 2 * PAD + 20
    x_of = {name: PAD + layer_of[name] * (BOX_W + GAP_X) for name in nodes}
    pos = {name: (x_of[name], y_of(name)) for name in nodes}

    parts: list[str] = []
    markers = "".join(
        f'<marker id="ah-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
        for k, (c, *_rest) in EDGE_STYLE.items()
    )
    parts.append(f"<defs>{markers}</defs>")
    seen: dict[tuple[str, str], int] = {}
    drawn: list[tuple[int, str]] = []
    rank = {"reference": 0, "secondary": 1, "context": 2, "cut": 3, "self": 4}
    for e in edges:
        p, c = str(e["parent"]), str(e["child"])
        kind = str(e.get("kind")) if str(e.get("kind")) in EDGE_STYLE else "secondary"
        k = seen.get((p, c), 0)
        seen[(p, c)] = k + 1
        off = (k % 5 - 2) * 5 if k else 0
        (px, py), (cx, cy) = pos[p], pos[c]
        if p == c or kind == "self":
            x0, y0 = px + BOX_W - 30 - 14 * k, py
            x1, x2 = px + BOX_W + 30 + 8 * k, px + BOX_W
            d = f"M{x0},{y0} C{x0},{y0 - 28} {x1},{py + 6} {x2},{py + 16 + 6 * k}"
        elif layer_of[p] < layer_of[c]:
            sx, sy, ex, ey = px + BOX_W, py + BOX_H / 2 + off, cx, cy + BOX_H / 2 + off
            dx = (ex - sx) / 2
            d = f"M{sx},{sy} C{sx + dx},{sy} {ex - dx},{ey} {ex},{ey}"
        elif layer_of[p] == layer_of[c]:
            sx, sy, ex, ey = px + BOX_W, py + BOX_H / 2 + off, cx + BOX_W, cy + BOX_H / 2 + off
            bulge = px + BOX_W + 36 + 6 * k
            d = f"M{sx},{sy} C{bulge},{sy} {bulge},{ey} {ex},{ey}"
        else:  # a parent deeper than its child: the cut edges of a cycle
            sx, sy, ex, ey = px, py + BOX_H / 2 + off, cx + BOX_W, cy + BOX_H / 2 + off
            d = f"M{sx},{sy} C{sx - 50},{sy} {ex + 50},{ey} {ex},{ey}"
        color, width, dash, opacity = EDGE_STYLE[kind]
        cols = ", ".join(str(x) for x in _list(e.get("columns")))
        tip = f"{c}({cols}) → {p}: {kind}"
        drawn.append(
            (
                rank.get(kind, 1),
                f'<path class="edge e-{kind}" d="{d}" stroke="{color}" stroke-width="{width}" '
                f'fill="none" opacity="{opacity}"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + f' marker-end="url(#ah-{kind})"><title>{_e(tip)}</title></path>',
            )
        )
    parts += [svg for _, svg in sorted(drawn, key=lambda x: x[0])]
    for name, n in nodes.items():
        x, y = pos[name]
        role = str(n.get("role") or "")
        rows = f"{_compact(n.get('rows_real'))} → {_compact(n.get('rows_synthetic'))}"
        box = (
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" class="box r-{_e(role)}"/>'
            f'<text x="{x + 8}" y="{y + 18}" class="tname">{_e(_trunc(name, 23))}</text>'
            f'<text x="{x + 8}" y="{y + 35}" class="tmeta">{_e(role)} · {_e(rows)} rows</text>'
            f"<title>{_e(name)} ({_e(role)}): {_e(rows)} rows, real → synthetic</title>"
        )
        link = anchors.get("table", name)
        if link:
            box = f'<a href="#{link}">{box}</a>'
        parts.append(f'<g class="node">{box}</g>')
    # Natural size, shrunk to the page down to 70%, then scrolled.
    cls = ' class="hide-ref"' if hide_reference else ""
    style = f"width:100%;max-width:{total_w:.0f}px;min-width:{0.7 * total_w:.0f}px;height:auto"
    return (
        f'<svg id="schema-svg"{cls} xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" '
        f'height="{total_h_px:.0f}" viewBox="0 0 {total_w:.0f} {total_h_px:.0f}" style="{style}" role="img" '
        f'aria-label="schema graph">{"".join(parts)}</svg>'
    )


def _graph_section(result: dict[str, Any], anchors: _Anchors) -> str:
    graph = _dict(result.get("graph"))
    legend = "".join(
        f'<span class="lg"><svg width="34" height="10"><line x1="1" y1="5" x2="33" y2="5" stroke="{c}" '
        f'stroke-width="{w + 0.5}"'
        + (f' stroke-dasharray="{d}"' if d else "")
        + f"/></svg>{_e(label)}</span>"
        for label, (c, w, d, _o) in (
            ("context (child generated per parent)", EDGE_STYLE["context"]),
            ("secondary", EDGE_STYLE["secondary"]),
            ("reference (lookup table)", EDGE_STYLE["reference"]),
            ("cut (cycle broken, filled after)", EDGE_STYLE["cut"]),
            ("self reference", EDGE_STYLE["self"]),
        )
    )
    roles = {str(_dict(n).get("role")) for n in _list(graph.get("nodes"))}
    note = ""
    if roles - {"data"}:
        note = (
            "<p class='muted'>Only <b>data</b> tables are compared column by column; reference tables are "
            "copied as they are and empty tables stay empty. Boxes show rows real → synthetic; click a data "
            "table to open its section. Arrows run from the parent (referenced) table to the child.</p>"
        )
    n_ref = sum(1 for e in _list(graph.get("edges")) if _dict(e).get("kind") == "reference")
    many = n_ref > REFERENCE_EDGES_SHOWN  # a large schema's lookups hide its structure: off at first
    toggle = (
        f'<label class="toggle"><input type="checkbox" id="show-ref"{"" if many else " checked"}> '
        f"show the {n_ref} reference edges</label>"
        if n_ref
        else ""
    )
    return (
        f'<section id="schema"><h2>Schema</h2><div class="legend">{legend}{toggle}</div>{note}'
        f'<div class="graph-wrap">{_graph_svg(graph, anchors, hide_reference=many)}</div></section>'
    )


# -- tables -------------------------------------------------------------------------------------
def _column_card(figs: _Figures, col: dict[str, Any], shareable: bool) -> str:
    plot = _dict(col.get("plot"))
    kind = str(col.get("kind") or "")
    figure = None
    if plot.get("type") == "hist":
        figure = _hist_figure(figs, plot, bool(plot.get("datetime")) or kind == "datetime")
    elif plot.get("type") == "bar":
        labels = [str(x) for x in _list(plot.get("labels"))]
        figure = _bar_figure(figs, labels, plot.get("real"), plot.get("synthetic"))
    nulls = f"NULL {_pct(col.get('null_real'))} → {_pct(col.get('null_synthetic'))}"
    metric = f"{col.get('metric') or 'score'} {_fmt(col.get('score'), 2)}"
    head = (
        f'<div class="colhead"><span class="cname" title="{_e(col.get("name"))}">{_e(col.get("name"))}</span>'
        f' <span class="muted">{_e(kind)}</span> '
        f"{_chip(metric, _grade(col.get('score')))}"
        f'</div><div class="colsub muted small">{_e(nulls)}</div>'
    )
    return f'<div class="colcard">{head}{figure or "<p class=muted>no plot</p>"}</div>'


def _pairs_table(pairs: list[Any], shareable: bool) -> str:
    items = sorted(
        (_dict(p) for p in pairs),
        key=lambda p: _num_or(p.get("score"), 2.0),
    )
    rows = []
    for p in items:
        rho = ""
        if p.get("metric") == "CorrelationSimilarity":
            rho = (
                f"ρ synthetic {_fmt(p.get('synthetic'), 2)}"
                if shareable
                else f"ρ real {_fmt(p.get('real'), 2)} · synthetic {_fmt(p.get('synthetic'), 2)}"
            )
        rows.append(
            [
                f"{_e(p.get('a'))} × {_e(p.get('b'))}",
                _e(p.get("metric", "")),
                f'<span class="num {_grade(p.get("score"))}">{_fmt(p.get("score"), 2)}</span>'
                + _bar(p.get("score")),
                _e(rho),
            ]
        )
    return f'<div class="scroll">{_table(["pair", "metric", "score", ""], rows)}</div>'


def _privacy_block(priv: dict[str, Any], shareable: bool) -> str:
    items = [
        (
            "copies of unique source records (every column but the keys)",
            _int(priv.get("copies"))
            if priv.get("assessed", True)
            else "not assessed: a record of under 2 columns is a value, not an entity",
        ),
        (
            "near copies (a unique record's numbers, dates and categories, all or all but one)",
            _int(priv.get("near_copies")),
        ),
        ("rows equal to a common source combination", _int(priv.get("matching_common_rows"))),
        ("unique source records", _int(priv.get("unique_source_rows"))),
    ]
    dist = _dict(priv.get("distance"))
    if dist.get("available"):
        items.append(("synthetic rows measured", _int(dist.get("rows"))))
        items.append(("distance to closest training row (median)", _fmt(dist.get("dcr_train_median"), 4)))
        if dist.get("holdout"):
            flag = (
                _chip("flagged", "poor")
                if dist.get("flagged")
                else _chip("inconclusive", "fair")
                if dist.get("inconclusive")
                else _chip("ok", "good")
            )
            items += [
                ("distance to closest held-out row (median)", _fmt(dist.get("dcr_holdout_median"), 4)),
                (
                    "share closer to training than holdout",
                    f"{_pct(dist.get('closer_to_training'))} {flag} "
                    "<span class='muted small'>(about 50% when the model does not memorize)</span>",
                ),
                ("held-out rows", _int(dist.get("holdout_rows"))),
            ]
        items.append(
            (
                "NNDR median (nearest / second nearest)",
                f"{_fmt(dist.get('nndr_median'), 3)} <span class='muted small'>"
                f"(share below 0.1: {_pct(dist.get('nndr_below_0.1'))})</span>",
            )
        )
        if dist.get("note"):
            items.append(("note", _e(dist.get("note"))))
    elif dist:
        items.append(("distances", _e(dist.get("reason") or dist.get("note") or "not computed")))
    out = _kv(items)
    rare = [_dict(r) for r in _list(priv.get("rare_categories"))]
    if rare:
        with_values = not shareable and any("value" in r for r in rare)
        head = ["column", *(["value"] if with_values else []), "source count", "synthetic count"]
        rows = [
            [
                _e(r.get("column")),
                *([_e(r.get("value", ""))] if with_values else []),
                _int(r.get("source_count")),
                _int(r.get("synthetic_count")),
            ]
            for r in rare
        ]
        out += (
            f"<h4>Rare categories ({len(rare)})</h4><p class='muted small'>source values seen fewer than "
            "5 times that appear in the synthetic data a few times: each could single a person out</p>"
            f'<div class="scroll short">{_table(head, rows)}</div>'
        )
    out += _personal_copies_block(priv)
    out += _rare_people_block(priv, shareable)
    out += _attacks_block(_dict(priv.get("attacks")))
    return out + _membership_block(_dict(priv.get("model_membership")))


def _personal_copies_block(priv: dict[str, Any]) -> str:
    """Synthetic personal data equal to the source's (privacy.personal_copies): columns and counts,
    never a value, shareable or not."""
    if "personal_copies" not in priv:
        return ""
    found = [_dict(r) for r in _list(priv.get("personal_copies"))]
    if not found:
        return _kv([("personal data, names in text, JSON keys equal to the source's", "0")])
    head = ["column", "what", "synthetic rows", "distinct values"]
    rows = [
        [_e(r.get("column")), _e(r.get("kind")), _int(r.get("synthetic_rows")), _int(r.get("source_values"))]
        for r in found
    ]
    return (
        f"<h4>{_chip('personal data of the source', 'poor')} ({len(found)})</h4><p class='muted small'>"
        "synthetic e-mails, ids, rare names, name and birth-date pairs equal to a source person's, free "
        "text naming a source person, JSON keys fewer than K source people hold: the generator never "
        "writes these</p>"
        f'<div class="scroll short">{_table(head, rows)}</div>'
    )


def _rare_people_block(priv: dict[str, Any], shareable: bool) -> str:
    """Synthetic values held by fewer than rare_k people in the source (privacy.rare_people):
    counts, and the values only where the report is not shareable."""
    found = [_dict(r) for r in _list(priv.get("rare_people"))]
    if not found:
        return ""
    k = _int(priv.get("rare_k") or 5)
    with_values = not shareable and any("value" in r for r in found)
    head = ["column", "what", *(["value"] if with_values else [])]
    head += ["source people", "source rows", "synthetic rows"]
    rows = [
        [
            _e(r.get("column")),
            _e(r.get("kind")),
            *([_e(r.get("value", ""))] if with_values else []),
            _int(r.get("source_people")),
            _int(r.get("source_rows")),
            _int(r.get("synthetic_rows")),
        ]
        for r in found
    ]
    return (
        f"<h4>Held by fewer than {k} people ({len(found)})</h4><p class='muted small'>synthetic values "
        f"(or the letters a group of codes begins with) held by fewer than {k} people in the source, "
        "however many rows they fill there or here: each could single a person out</p>"
        f'<div class="scroll short">{_table(head, rows)}</div>'
    )


def _rate_ci(r: dict[str, Any]) -> str:
    ci = _list(r.get("ci"))
    lo, hi = [*ci, None, None][:2]
    return (
        f"{_pct(r.get('rate'))} <span class='muted small'>[{_pct(lo)}, {_pct(hi)}] "
        f"of {_int(r.get('attacks'))}</span>"
    )


def _risk_cell(risk: dict[str, Any]) -> str:
    ci = _list(risk.get("ci"))
    lo, hi = [*ci, None, None][:2]
    low = _num(lo)
    grade = "na" if low is None else "poor" if low > 0.1 else "fair" if low > 0 else "good"
    interval = f"<span class='muted small'>[{_fmt(lo, 2)}, {_fmt(hi, 2)}]</span>"
    return f"{_chip(_fmt(risk.get('value'), 2), grade)} {interval}"


def _attack_exposed(a: dict[str, Any]) -> bool:
    """Does any attack's risk interval lie above 0?"""
    for key in ("singling_out", "linkability", "inference"):
        ci = _list(_dict(_dict(a.get(key)).get("risk")).get("ci"))
        if ci and (_num(ci[0]) or 0.0) > 0:
            return True
    return False


def _attacks_block(a: dict[str, Any]) -> str:
    """Attack-based risk: each attack's success on training rows and on held-out rows (the
    control), the random baseline, and the risk with its interval. Rates only, never values."""
    if not a:
        return ""
    head = "<h4>Attacks (singling out, linkability, inference)</h4>"
    if not a.get("available"):
        return head + f"<p class='muted'>not run: {_e(a.get('reason') or 'no result')}</p>"
    rows = []
    explain = {
        "singling_out": "queries over a few columns, built from synthetic rows, that single out one person",
        "linkability": "two halves of a record linked through their nearest synthetic rows",
    }
    for key, label in (("singling_out", "singling out"), ("linkability", "linkability")):
        x = _dict(a.get(key))
        if not x.get("available"):
            rows.append(
                [_e(label), f"<span class='muted'>{_e(x.get('reason') or 'not run')}</span>", "", "", ""]
            )
            continue
        rows.append(
            [
                f"{_e(label)}<div class='muted small'>{_e(explain[key])}</div>",
                _rate_ci(_dict(x.get("train"))),
                _rate_ci(_dict(x.get("control"))),
                _rate_ci(_dict(x.get("baseline"))),
                _risk_cell(_dict(x.get("risk"))),
            ]
        )
    inf = _dict(a.get("inference"))
    if inf.get("available"):
        for sec in [_dict(s) for s in _list(inf.get("secrets"))]:
            rows.append(
                [
                    f"inference of <code>{_e(sec.get('column'))}</code><div class='muted small'>guessed "
                    "from the nearest synthetic row on the other columns</div>",
                    _rate_ci(_dict(sec.get("train"))),
                    _rate_ci(_dict(sec.get("control"))),
                    _rate_ci(_dict(sec.get("baseline"))),
                    _risk_cell(_dict(sec.get("risk"))),
                ]
            )
    else:
        rows.append(
            ["inference", f"<span class='muted'>{_e(inf.get('reason') or 'not run')}</span>", "", "", ""]
        )
    note = (
        "<p class='muted small'>Each attack uses only the synthetic data and is run alike against "
        f"training rows and against {_int(a.get('control_rows'))} held-out rows the model never saw "
        "(the control). Risk = (training − held-out) / (1 − held-out), 95% interval, 0 when the attack "
        "does no better on training rows: success on held-out rows is what anyone learns about the "
        "population. The random baseline shows whether an attack beats guessing at all.</p>"
    )
    headers = ["attack", "success on training rows", "on held-out rows", "random baseline", "risk [95% CI]"]
    return head + note + f'<div class="scroll">{_table(headers, rows)}</div>'


def _membership_block(m: dict[str, Any]) -> str:
    """Membership inference by whoever holds the model file: one row, numbers only."""
    if not m:
        return ""
    head = "<h4>Membership from the model file</h4>"
    if not m.get("available"):
        return head + f"<p class='muted'>not run: {_e(m.get('reason') or 'no result')}</p>"
    ci = _list(m.get("ci"))
    lo, hi = [*ci, None, None][:2]
    low = _num(lo)
    if m.get("flagged"):
        chip = _chip("flagged", "poor")
    elif m.get("inconclusive"):
        chip = _chip("inconclusive", "fair")
    elif low is not None and low > 0.5:
        chip = _chip("above 0.5", "fair")
    else:
        chip = _chip("ok", "good")
    row = [
        f"{_fmt(m.get('auc'), 3)} <span class='muted small'>[{_fmt(lo, 3)}, {_fmt(hi, 3)}]</span> {chip}",
        _int(m.get("sampled_rows")),
        _fmt(m.get("scale"), 2),
        f"{_int(m.get('training_rows'))} / {_int(m.get('holdout_rows'))}",
        _pct(m.get("tied")),
    ]
    note = (
        "<p class='muted small'>The model file, read back and sampled without the source as anyone "
        "holding it could, more rows than the output. AUC: the chance that a training row lies nearer "
        "to a sampled row than a held-out row does (0.5 when the model does not memorize), with a 95% "
        "interval over the holdout's units; flagged when the whole interval lies above "
        f"{_fmt(m.get('flag_above', 0.6), 1)}.</p>"
    )
    headers = ["AUC [95% CI]", "rows sampled", "scale", "training / held-out rows compared", "tied pairs"]
    extra = f"<p class='muted small'>{_e(m.get('inconclusive'))}</p>" if m.get("inconclusive") else ""
    return head + note + f'<div class="scroll">{_table(headers, [row])}</div>' + extra


def _table_section(
    figs: _Figures,
    anchors: _Anchors,
    name: str,
    t: dict[str, Any],
    rels: list[dict[str, Any]],
    shareable: bool,
) -> str:
    rows = _dict(t.get("rows"))
    detect = _dict(t.get("detectability"))
    priv = _dict(t.get("privacy"))
    dist = _dict(priv.get("distance"))
    chips = [
        _score_chip("shapes", t.get("column_shapes")),
        _score_chip("pairs", t.get("column_pairs")),
    ]
    if detect.get("available"):
        chips.append(_chip(f"AUC {_fmt(detect.get('auc'), 2)}", _auc_grade(detect.get("auc"))))
    if (_num(priv.get("copies")) or 0) > 0:
        chips.append(_chip(f"{_int(priv.get('copies'))} copies", "poor"))
    if dist.get("flagged"):
        chips.append(_chip("closer to training", "poor"))
    if _attack_exposed(_dict(priv.get("attacks"))):
        chips.append(_chip("attack risk", "poor"))
    if _dict(priv.get("model_membership")).get("flagged"):
        chips.append(_chip("model-file membership", "poor"))
    summary = (
        f'<summary><span class="sname">{_e(name)}</span> <span class="muted">'
        f"{_int(rows.get('real'))} → {_int(rows.get('synthetic'))} rows</span> {''.join(chips)}</summary>"
    )
    body = []
    cols = [_dict(c) for c in _list(t.get("columns"))]
    if cols:
        cards = "".join(_column_card(figs, c, shareable) for c in cols)
        body.append(f'<h3>Columns ({len(cols)})</h3><div class="colgrid">{cards}</div>')
    else:
        body.append("<h3>Columns</h3><p class='muted'>no comparable columns</p>")
    nc = [str(x) for x in _list(t.get("not_compared"))]
    if nc:
        body.append(
            "<p class='muted small'>Not compared (generated: keys, text, personal data): "
            + ", ".join(f"<code>{_e(c)}</code>" for c in nc)
            + "</p>"
        )
    corr = _dict(t.get("correlation"))
    ccols = [str(c) for c in _list(corr.get("columns"))]
    maps = []
    if not shareable:
        maps.append(_heatmap(figs, ccols, corr.get("real"), "real"))
    maps.append(_heatmap(figs, ccols, corr.get("synthetic"), "synthetic"))
    maps = [m for m in maps if m]
    if maps:
        body.append(
            "<h3>Correlations (Spearman)</h3>"
            + f'<div class="maps n{len(maps)}">'
            + "".join(f"<div>{m}</div>" for m in maps)
            + "</div>"
        )
    pairs = _list(t.get("pairs"))
    if pairs:
        body.append(
            f"<h3>Column pairs ({len(pairs)}, worst first)</h3>"
            + f"<p class='muted small'>mean {_fmt(t.get('column_pairs'), 3)}</p>"
            + _pairs_table(pairs, shareable)
        )
    if detect.get("available"):
        dtext = _kv(
            [
                ("ROC AUC", f"{_chip(_fmt(detect.get('auc'), 3), _auc_grade(detect.get('auc')))} "),
                ("score (1 − 2·max(AUC − 0.5, 0))", _fmt(detect.get("score"), 3)),
                ("rows per side", _int(detect.get("rows_per_side"))),
            ]
        )
        top = [_dict(f) for f in _list(detect.get("top_features"))]
        if top:
            dtext += (
                "<p class='muted small'>What the classifier relies on: the drop of the held-out AUC when "
                "a feature is shuffled, and its share of all drops. High shares in a table told apart "
                "are what not to trust in it.</p>"
                + _table(
                    ["feature", "AUC drop", "share"],
                    [
                        [
                            f"<code>{_e(f.get('feature'))}</code>",
                            _fmt(f.get("auc_drop"), 3),
                            f"{_pct(f.get('share'), 0)}{_bar(f.get('share'), 'info')}",
                        ]
                        for f in top
                    ],
                )
            )
    else:
        dtext = f"<p class='muted'>not computed: {_e(detect.get('reason') or 'no result')}</p>"
    body.append("<h3>Detectability</h3>" + dtext)
    body.append("<h3>Privacy</h3>" + _privacy_block(priv, shareable))
    mine = [r for r in rels if r.get("child") == name or r.get("parent") == name]
    if mine:
        items = "".join(
            f'<li><a href="#{anchors("rel", r.get("fk"))}">{_e(r.get("fk"))}</a> '
            f"{_score_chip('cardinality', r.get('cardinality'))} "
            f"{_score_chip('trends', r.get('trend_score'))}</li>"
            for r in mine
        )
        body.append(f"<h3>Relationships</h3><ul class='tight'>{items}</ul>")
    return (
        f'<details class="sec table" id="{anchors("table", name)}" data-table="{_e(name)}">{summary}'
        f'<div class="body">{"".join(body)}</div></details>'
    )


def _relationship_section(figs: _Figures, anchors: _Anchors, r: dict[str, Any], shareable: bool) -> str:
    fk = r.get("fk") or f"{r.get('child')} -> {r.get('parent')}"
    counts = _dict(r.get("counts"))
    edges = [_num(e) for e in _list(counts.get("edges"))]
    figure = None
    if len(edges) >= 2 and all(e is not None for e in edges):
        labels = _count_labels(edges)  # type: ignore[arg-type]
        figure = _bar_figure(figs, labels, counts.get("real"), counts.get("synthetic"), height=230)
    stats = _kv(
        [
            ("cardinality (KS complement of child counts)", _score_chip("", r.get("cardinality"))),
            ("parent-child trends (mean)", _score_chip("", r.get("trend_score"))),
            (
                "children per parent (mean)",
                f"real {_fmt(r.get('real_mean_children'), 2)} → synthetic "
                f"{_fmt(r.get('synthetic_mean_children'), 2)}",
            ),
        ]
    )
    trends = sorted(
        (_dict(x) for x in _list(r.get("trends"))),
        key=lambda x: _num_or(x.get("score"), 2.0),
    )
    trend_html = ""
    if trends:
        rows = [
            [
                f"{_e(r.get('parent'))}.{_e(x.get('parent_column'))} × {_e(r.get('child'))}."
                f"{_e(x.get('child_column'))}",
                _e(x.get("metric", "")),
                f'<span class="num {_grade(x.get("score"))}">{_fmt(x.get("score"), 2)}</span>'
                + _bar(x.get("score")),
            ]
            for x in trends[:SHOWN_TRENDS]
        ]
        more = f" (worst {SHOWN_TRENDS} of {len(trends)})" if len(trends) > SHOWN_TRENDS else ""
        trend_html = f"<h4>Trends{more}</h4>" + _table(
            ["parent column × child column", "metric", "score"], rows
        )
    summary = (
        f'<summary><span class="sname">{_e(fk)}</span> {_score_chip("cardinality", r.get("cardinality"))} '
        f"{_score_chip('trends', r.get('trend_score'))}</summary>"
    )
    plot = (
        "<h4>Children per parent row</h4>" + figure if figure else "<p class='muted'>no child-count plot</p>"
    )
    return (
        f'<details class="sec rel" id="{anchors("rel", fk)}">{summary}<div class="body">'
        f'<div class="relgrid"><div>{plot}</div><div>{stats}{trend_html}</div></div></div></details>'
    )


def _integrity_section(result: dict[str, Any]) -> str:
    integ = _dict(result.get("integrity"))
    parts = []
    groups = (
        ("orphans", "foreign keys checked for orphans"),
        ("duplicate_keys", "primary and unique keys checked for duplicates"),
        ("not_null", "NOT NULL columns checked"),
        ("checks", "CHECK constraints evaluated"),
    )
    rows = []
    for key, label in groups:
        d = _dict(integ.get(key))
        bad = sum(1 for v in d.values() if (_num(v) or 0) > 0)
        total_rows = sum(_num(v) or 0 for v in d.values())
        rows.append(
            [
                _e(label),
                _int(len(d)),
                f'<span class="num {"good" if not bad else "poor"}">{bad}</span>',
                _int(total_rows),
            ]
        )
    problems = _num(integ.get("problems"))
    grade = "na" if problems is None else "good" if not problems else "poor"
    head = (
        f"<p>{_chip(f'{_int(problems)} problems', grade)}"
        " in the synthetic data (rows that break a constraint of the schema).</p>"
    )
    parts.append(head + _table(["check", "checked", "failing", "rows"], rows))
    lines = [str(x) for x in _list(integ.get("lines"))]
    if lines:
        parts.append(
            "<h3>Problems</h3><ul class='problems'>" + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>"
        )
    return f'<section id="integrity"><h2>Integrity</h2>{"".join(parts)}</section>'


def _notes_section(result: dict[str, Any]) -> str:
    notes = [str(n) for n in _list(result.get("notes"))]
    note = _dict(_dict(result.get("scores")).get("privacy")).get("note")
    if note:
        notes.append(str(note))
    for name, t in _dict(result.get("tables")).items():
        dist = _dict(_dict(_dict(t).get("privacy")).get("distance"))
        if dist.get("note") and "no holdout" not in str(dist.get("note")):
            notes.append(f"{name}: {dist['note']}")
    body = (
        "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
        if notes
        else "<p class='muted'>none</p>"
    )
    return f'<section id="notes"><h2>Notes</h2>{body}</section>'


def _nav(result: dict[str, Any], anchors: _Anchors) -> str:
    tables = _dict(result.get("tables"))
    items = "".join(
        f'<li><a href="#{anchors.get("table", n)}"><span class="dot {_grade(_dict(t).get("column_shapes"))}">'
        f"</span>{_e(n)}</a></li>"
        for n, t in tables.items()
    )
    return (
        '<nav id="toc"><div class="brand">relsynth report</div><ul>'
        '<li><a href="#summary">Summary</a></li><li><a href="#schema">Schema</a></li>'
        f'<li><a href="#tables">Tables ({len(tables)})</a><ul class="sub">{items}</ul></li>'
        f'<li><a href="#relationships">Relationships ({len(_list(result.get("relationships")))})</a></li>'
        '<li><a href="#integrity">Integrity</a></li><li><a href="#notes">Notes</a></li></ul></nav>'
    )


def _guard(what: str, build: Callable[[], str]) -> str:
    """A part that fails to render is reported in its place; the rest of the page stays."""
    try:
        return build()
    except Exception as err:  # a malformed part of the result must not lose the whole report
        log.warning("report: the %s section could not be rendered: %s: %s", what, type(err).__name__, err)
        return (
            f'<div class="render-error">The {_e(what)} section could not be rendered '
            f"({_e(type(err).__name__)}: {_e(err)}).</div>"
        )


def render_html(result: dict[str, Any]) -> str:
    """The whole report as one HTML string, with plotly.js inlined once."""
    from plotly.offline import get_plotlyjs

    result = _dict(result)
    shareable = bool(result.get("shareable"))
    anchors, figs = _Anchors(), _Figures()
    tables = {str(n): _dict(t) for n, t in _dict(result.get("tables")).items()}
    rels = [_dict(r) for r in _list(result.get("relationships"))]
    for name in tables:
        anchors("table", name)
    for r in rels:
        anchors("rel", r.get("fk") or f"{r.get('child')} -> {r.get('parent')}")
    table_html = "".join(
        _guard(f"table {name}", partial(_table_section, figs, anchors, name, t, rels, shareable))
        for name, t in tables.items()
    )

    def rel_key(r: dict[str, Any]) -> float:
        vals = [v for v in (_num(r.get("cardinality")), _num(r.get("trend_score"))) if v is not None]
        return min(vals) if vals else 2.0

    rel_html = "".join(
        _guard(f"relationship {r.get('fk')}", partial(_relationship_section, figs, anchors, r, shareable))
        for r in sorted(rels, key=rel_key)
    )
    buttons = (
        '<div class="buttons"><button type="button" data-open="{0}">open all</button>'
        '<button type="button" data-close="{0}">close all</button></div>'
    )
    main = [
        _banner(result),
        _guard("summary", lambda: _summary(result, anchors)),
        _guard("schema", lambda: _graph_section(result, anchors)),
        f'<section id="tables"><h2>Tables</h2>{buttons.format("tables")}'
        "<p class='muted'>Per data table: each column real vs synthetic (share of rows), correlations, "
        "pairs of columns, detectability and privacy. Open a table to draw its plots.</p>"
        f"{table_html or '<p class=muted>no data tables were compared</p>'}</section>",
        f'<section id="relationships"><h2>Relationships</h2>{buttons.format("relationships")}'
        "<p class='muted'>Per foreign key, worst first: how many children each parent row has "
        "(cardinality) and how parent and child columns go together (trends).</p>"
        f"{rel_html or '<p class=muted>no relationships</p>'}</section>",
        _guard("integrity", lambda: _integrity_section(result)),
        _guard("notes", lambda: _notes_section(result)),
        f"<footer>relsynth · result format {_e(result.get('format', '?'))} v{_e(result.get('version', '?'))}"
        f" · {'shareable' if shareable else 'contains source values'}</footer>",
    ]
    title = "relsynth report" + (" (shareable)" if shareable else "")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<style>{CSS}</style></head><body>"
        f"{_guard('navigation', lambda: _nav(result, anchors))}"
        f"<main>{''.join(main)}</main>"
        f'<script type="application/json" id="rs-figures">{_script_json(figs.specs)}</script>'
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        f"<script>{JS}</script></body></html>\n"
    )


def write_html(result: dict[str, Any], path: str | Path) -> None:
    """Render first, then write all at once (io.atomic_write): no half report holding source values."""
    from relsynth.io import atomic_write

    html = render_html(result)
    with atomic_write(path) as fh:
        fh.write(html)


CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:%(font)s;font-size:14px;color:#222;background:#f6f7f9;line-height:1.45}
a{color:#1f5fa8;text-decoration:none}a:hover{text-decoration:underline}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:#eef0f3;
padding:1px 4px;border-radius:3px;word-break:break-all}
#toc{position:fixed;top:0;left:0;bottom:0;width:220px;overflow-y:auto;background:#1f2933;color:#cfd8e3;
padding:14px 10px;font-size:13px}
#toc .brand{font-weight:700;color:#fff;margin:0 6px 10px}
#toc ul{list-style:none;margin:0;padding:0}#toc li{margin:1px 0}
#toc a{color:#cfd8e3;display:block;padding:3px 6px;border-radius:4px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
#toc a:hover{background:#323f4b;text-decoration:none}#toc ul.sub{margin-left:10px;font-size:12px}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:#999}
main{margin-left:220px;padding:0 28px 40px;max-width:1440px}
.banner{margin:0 -28px 18px;padding:12px 28px;font-size:14px;border-bottom:1px solid}
.banner.danger{background:#fdecea;color:#7f1d1d;border-color:#f5c2c0}
.banner.safe{background:#e8f5e9;color:#1b5e20;border-color:#b9dfbb}
h1{font-size:24px;margin:8px 0 2px}h2{font-size:20px;margin:34px 0 10px;padding-bottom:4px;
border-bottom:2px solid #dde2e8}h3{font-size:15px;margin:18px 0 8px}h4{font-size:13px;margin:12px 0 6px}
.meta{color:#555;margin:0 0 14px}.muted{color:#6b7785}.small{font-size:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e1e5ea;border-radius:8px;padding:12px 16px}
.card.wide{grid-column:span 2}.card h3{margin:0 0 6px;font-size:13px;text-transform:uppercase;
letter-spacing:.04em;color:#52606d}
.big{font-size:34px;font-weight:700;line-height:1.1;margin:2px 0 6px}
.big-row{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}.big-row>div:first-child{min-width:150px}
.props{flex:1;min-width:220px}.q .pnum{width:64px}.prop .bar{width:90px;flex:0 0 90px}
.sdms{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:4px 24px}
.prop{display:flex;align-items:center;gap:8px;margin:5px 0}
.plabel{flex:1;font-size:13px}.pnum{width:44px;text-align:right;font-weight:600;font-variant-numeric:tabular-nums}
.sub{color:#6b7785;font-size:12px;margin-top:4px}
.bar{display:inline-block;width:110px;height:8px;background:#e9edf1;border-radius:4px;overflow:hidden;
vertical-align:middle;margin-left:6px}.bar>span{display:block;height:100%;background:#999}
.good{color:#2e7d32}.fair{color:#c25e00}.poor{color:#c62828}.na{color:#8a96a3}.info{color:#1f5fa8}
.bar>.good,.dot.good{background:#43a047}.bar>.fair,.dot.fair{background:#fb8c00}
.bar>.poor,.dot.poor{background:#e53935}.bar>.na{background:#b0bac5}.bar>.info{background:#4c78a8}
.chip{display:inline-block;font-size:11px;font-weight:600;padding:1px 7px;border-radius:10px;margin:0 2px;
background:#eef0f3;white-space:nowrap}
.chip.good{background:#e3f3e4}.chip.fair{background:#fff0de}.chip.poor{background:#fde3e1}
.num{font-weight:600;font-variant-numeric:tabular-nums}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px;margin-top:6px}
table.grid{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
table.grid th,table.grid td{border-bottom:1px solid #e6e9ed;padding:4px 8px;text-align:left;
vertical-align:middle}
table.grid th{background:#f0f2f5;font-weight:600;font-size:12px;color:#52606d;position:sticky;top:0}
.scroll{max-height:340px;overflow:auto;border:1px solid #e6e9ed}.scroll.short{max-height:220px}
ul.tight{margin:4px 0;padding-left:18px}ul.tight li{margin:2px 0}
.legend{display:flex;flex-wrap:wrap;gap:14px;align-items:center;font-size:12px;color:#52606d}
.lg svg{vertical-align:middle;margin-right:4px}.toggle{margin-left:auto}
.graph-wrap{overflow:auto;background:#fff;border:1px solid #e1e5ea;border-radius:8px;max-height:85vh}
#schema-svg .box{fill:#e8f0fb;stroke:#6b8fbf;stroke-width:1}
#schema-svg .r-reference{fill:#eaf4ea;stroke:#7aa57a}
#schema-svg .r-empty{fill:#f4f4f4;stroke:#b8b8b8;stroke-dasharray:3 2}
#schema-svg .tname{font-size:12px;font-weight:700;fill:#1f2933}
#schema-svg .tmeta{font-size:10.5px;fill:#52606d}#schema-svg a:hover .box{stroke-width:2.2}
#schema-svg.hide-ref .e-reference{display:none}#schema-svg .edge:hover{stroke-width:3}
details.sec{background:#fff;border:1px solid #e1e5ea;border-radius:8px;margin:8px 0}
details.sec>summary{cursor:pointer;padding:9px 14px;list-style-position:inside}
details.sec>summary:hover{background:#f6f8fa}.sname{font-weight:700;margin-right:6px}
details.sec[open]>summary{border-bottom:1px solid #e6e9ed}details.sec>.body{padding:4px 16px 16px}
.colgrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
.colcard{border:1px solid #e6e9ed;border-radius:6px;padding:6px 8px;min-width:0}
.colhead,.colsub{font-size:13px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.colsub{font-size:12px}
.cname{font-weight:700}
.maps{display:grid;gap:12px}.maps.n2{grid-template-columns:1fr 1fr}
.maps.n1{grid-template-columns:minmax(0,560px)}
.maps>div{min-width:0}
.relgrid{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:18px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:6px 0;font-size:13px}
dl.kv dt{color:#52606d}dl.kv dd{margin:0}
.buttons{margin:0 0 8px}.buttons button{font:inherit;font-size:12px;padding:3px 10px;margin-right:6px;
border:1px solid #c5ccd4;background:#fff;border-radius:4px;cursor:pointer}
.buttons button:hover{background:#f0f2f5}
ul.problems li{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.render-error{background:#fff3cd;border:1px solid #ffe08a;padding:8px 12px;border-radius:6px;margin:8px 0}
#integrity table.grid{max-width:760px}
footer{margin-top:36px;color:#8a96a3;font-size:12px}
@media (max-width:900px){#toc{display:none}main{margin-left:0}
.two,.relgrid,.maps.n2{grid-template-columns:1fr}
.card.wide{grid-column:auto}}
""".replace("%(font)s", FONT)

JS = """
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("rs-figures").textContent);
  var config = {displaylogo: false, responsive: true, displayModeBar: false};
  function draw(el) {
    if (el.getAttribute("data-drawn")) return;
    var spec = specs[el.getAttribute("data-fig")];
    if (!spec || typeof Plotly === "undefined") return;
    el.setAttribute("data-drawn", "1");
    Plotly.newPlot(el, spec.data, spec.layout, config);
  }
  var plots = document.querySelectorAll("[data-fig]");
  if ("IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); }
      });
    }, {rootMargin: "400px 0px"});
    plots.forEach(function (el) { seen.observe(el); });
  } else {
    var drawOpen = function () {
      plots.forEach(function (el) { if (el.offsetParent !== null) draw(el); });
    };
    document.querySelectorAll("details").forEach(function (d) { d.addEventListener("toggle", drawOpen); });
    drawOpen();
  }
  function reveal(id) {
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var d = el; d; d = d.parentElement) { if (d.tagName === "DETAILS") d.open = true; }
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a") : null;
    var href = a && a.getAttribute("href");
    if (href && href.charAt(0) === "#") reveal(decodeURIComponent(href.slice(1)));
    var b = ev.target.closest ? ev.target.closest("button[data-open],button[data-close]") : null;
    if (b) {
      var open = b.hasAttribute("data-open");
      var sec = document.getElementById(b.getAttribute(open ? "data-open" : "data-close"));
      if (sec) sec.querySelectorAll("details").forEach(function (d) { d.open = open; });
    }
  });
  window.addEventListener("hashchange", function () { reveal(decodeURIComponent(location.hash.slice(1))); });
  if (location.hash) {
    reveal(decodeURIComponent(location.hash.slice(1)));
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) target.scrollIntoView();
  }
  var ref = document.getElementById("show-ref");
  var svg = document.getElementById("schema-svg");
  if (ref && svg) {
    ref.addEventListener("change", function () { svg.classList.toggle("hide-ref", !ref.checked); });
  }
})();
"""
