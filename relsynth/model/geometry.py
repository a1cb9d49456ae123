"""Points and shapes generated like the source's, never copied: PostgreSQL's geometric types (in
their text forms) and MySQL/MariaDB's spatial ones (as WKT, written through ST_GeomFromText).

A point's x and y are two numbers with their rank correlation, each learned as a DOUBLE is (a knot
per K values, the ends pulled in and off any one row's value); other shapes keep their centres (as
points), sizes and vertex counts, learned alike, and lie inside a box whose sides are learned
alike. Polygons are star-shaped around their centre, so always simple; line strings and paths do
not repeat a point.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from relsynth.model.marginals import MIN_SUPPORT, choice, draw, learned, levels

# -- points and shapes -----------------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|infinity|nan)", re.IGNORECASE)


def numbers(text: str) -> list[float]:
    return [float(v) for v in _NUMBER.findall(text)]


def fit_points(xy: np.ndarray, people: np.ndarray | None = None, k: int = MIN_SUPPORT) -> dict[str, Any]:
    """x and y as two numbers learned like a DOUBLE's (marginals.learned: no knot, and so no
    draw, on one row's coordinate), with their rank correlation (a two-column Gaussian copula).
    ``people``: each point's person, -1 for none."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    ok = np.all(np.isfinite(xy), axis=1)
    xy = xy[ok]
    who = None if people is None or len(people) != len(ok) else np.asarray(people)[ok]
    rho = 0.0
    if len(xy) > 2 and np.ptp(xy[:, 0]) > 0 and np.ptp(xy[:, 1]) > 0:
        rho = float(pd.Series(xy[:, 0]).rank().corr(pd.Series(xy[:, 1]).rank()))
        rho = 0.0 if math.isnan(rho) else max(-0.99, min(0.99, rho))
    return {"x": learned(xy[:, 0], who, k), "y": learned(xy[:, 1], who, k), "rho": rho}


def draw_points(m: dict[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    z1 = rng.standard_normal(n)
    rho = float(m["rho"])
    z2 = rho * z1 + math.sqrt(1 - rho * rho) * rng.standard_normal(n)
    return np.column_stack([draw(m["x"], ndtr(z1), rng), draw(m["y"], ndtr(z2), rng)])


def _wkt_parse(text: str) -> tuple[str, Any]:
    """'POLYGON((0 0,1 0,1 1,0 0))' -> ('POLYGON', nested lists of [x, y])."""
    head = re.match(r"\s*([A-Za-z]+)\s*", text)
    if head is None:
        raise ValueError("not WKT")
    kind = head.group(1).upper()
    tokens = re.findall(r"\(|\)|,|[^\s(),]+(?:\s+[^\s(),]+)*", text[head.end() :])
    pos = 0

    def node() -> Any:
        nonlocal pos
        tok = tokens[pos]
        if tok == "(":
            pos += 1
            items = [node()]
            while tokens[pos] == ",":
                pos += 1
                items.append(node())
            pos += 1  # ')'
            return items
        pos += 1
        parts = tok.split()
        if parts[0].isalpha() and parts[0].upper() != "EMPTY":  # a member of a GEOMETRYCOLLECTION
            inner = [parts[0]] if len(parts) == 1 else parts
            return {
                "type": inner[0].upper(),
                "body": node() if pos < len(tokens) and tokens[pos] == "(" else [],
            }
        return [float(p) for p in parts[:2]]

    return kind, node() if tokens else []


def _coords(body: Any) -> list[list[float]]:
    if isinstance(body, dict):
        return _coords(body["body"])
    if isinstance(body, list) and len(body) == 2 and all(isinstance(v, float) for v in body):
        return [body]
    if isinstance(body, list):
        return [c for item in body for c in _coords(item)]
    return []


def _vertices(kind: str, body: Any) -> int:
    """Vertices of a shape's first part (a ring without its closing point)."""
    if kind in {"POINT", "MULTIPOINT"}:
        return max(1, len(_coords(body)))
    part = body
    while isinstance(part, list) and part and isinstance(part[0], list) and isinstance(part[0][0], list):
        part = part[0]
    n = len(part) if isinstance(part, list) else 2
    return max(2, n - 1) if kind.endswith("POLYGON") else max(2, n)


def _shape_numbers(family: str, text: str) -> tuple[np.ndarray, int | None, float | None, str | None, bool]:
    """A shape's vertices, vertex count, extra number (parts, radius or angle), WKT kind and
    whether a path is closed."""
    count: int | None = None
    extra: float | None = None
    kind: str | None = None
    closed = False
    if family == "wkt":
        kind, body = _wkt_parse(text)
        xy = _coords(body)
        count = _vertices(kind, body)
        parts = len(body) if kind.startswith("MULTI") or kind.startswith("GEOM") else 1
        extra = float(max(1, parts))
    else:
        nums = numbers(text)
        if family == "pg_circle":
            xy, extra = [nums[:2]], nums[2]
        elif family == "pg_line":
            a, b, c = nums[:3]
            norm = a * a + b * b
            xy = [[-a * c / norm, -b * c / norm]]
            extra = math.atan2(a, -b) % math.pi
        else:
            xy = [nums[i : i + 2] for i in range(0, len(nums) - 1, 2)]
            count = len(xy)
            closed = text.strip().startswith("(") and family == "pg_path"
    return np.asarray(xy, dtype=float).reshape(-1, 2), count, extra, kind, closed


def _bbox(allxy: np.ndarray, holders: np.ndarray | None, k: int) -> list[float]:
    """The box every vertex lies in, its sides learned as the ends of every vertex's x and y
    (marginals.learned): pulled in to the k-th value and moved off any one row's, where the
    source's own minimum and maximum were stored (each one row's coordinate)."""
    if not len(allxy):
        return [0.0, 0.0, 1.0, 1.0]
    x, y = learned(allxy[:, 0], holders, k)["knots"], learned(allxy[:, 1], holders, k)["knots"]
    return [x[0], y[0], x[-1], y[-1]]


def fit_shapes(
    family: str, texts: list[str], declared: str, people: np.ndarray | None = None, k: int = MIN_SUPPORT
) -> dict[str, Any]:
    """Centres (as points), sizes, vertex counts and a bounding box, each number learned like a
    DOUBLE's (marginals.learned). ``people``: each text's person, -1 for none."""
    centres, widths, heights, counts, kinds, extras, closed = [], [], [], [], [], [], []
    holders: list[int] = []  # each kept shape's person (a shape of none: a person of its own)
    given = np.asarray(people) if people is not None and len(people) == len(texts) else None
    fresh = int(given.max()) + 1 if given is not None and len(given) else 0
    allxy: list[np.ndarray] = []
    vertex_holders: list[np.ndarray] = []
    for i, text in enumerate(texts):
        try:
            arr, count, extra, kind, is_closed = _shape_numbers(family, text)
        except (ValueError, IndexError, ZeroDivisionError):
            continue
        if not len(arr) or not np.all(np.isfinite(arr)):
            continue
        holder = int(given[i]) if given is not None and given[i] >= 0 else fresh + i
        holders.append(holder)
        allxy.append(arr)
        vertex_holders.append(np.full(len(arr), holder))
        lo, hi = arr.min(axis=0), arr.max(axis=0)
        centres.append(((lo + hi) / 2).tolist())
        widths.append(float(hi[0] - lo[0]))
        heights.append(float(hi[1] - lo[1]))
        counts += [] if count is None else [count]
        extras += [] if extra is None else [extra]
        kinds += [] if kind is None else [kind]
        closed += [is_closed] if family == "pg_path" else []
    who = np.asarray(holders)
    pts = np.concatenate(allxy) if allxy else np.zeros((0, 2))
    vertex_who = np.concatenate(vertex_holders) if allxy else None
    return {
        "centres": fit_points(np.asarray(centres, dtype=float).reshape(-1, 2), who, k),
        "width": learned(np.asarray(widths), who, k),
        "height": learned(np.asarray(heights), who, k),
        "extra": learned(np.asarray(extras), who if len(extras) == len(holders) else None, k),
        "counts": levels(counts) if counts else [[4, 1]],
        "kinds": levels(kinds) if kinds else [[declared, 1]],
        "closed": float(np.mean(closed)) if closed else 0.0,
        "bbox": _bbox(pts, vertex_who, k),
    }


def num(v: float) -> str:
    return format(float(v), ".12g")


def _inside(m: dict[str, Any], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres, widths and heights of n shapes that lie inside the learned box."""
    x0, y0, x1, y1 = m["bbox"]
    w = np.clip(draw(m["width"], rng.random(n), rng), 0, x1 - x0)
    h = np.clip(draw(m["height"], rng.random(n), rng), 0, y1 - y0)
    c = draw_points(m["centres"], n, rng)
    c[:, 0] = np.clip(c[:, 0], x0 + w / 2, x1 - w / 2)
    c[:, 1] = np.clip(c[:, 1], y0 + h / 2, y1 - h / 2)
    return c, w, h


def _ring(
    cx: float, cy: float, w: float, h: float, k: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """k vertices of a star-shaped (so simple) polygon inside the box centred on (cx, cy)."""
    w, h = max(w, 1e-6), max(h, 1e-6)
    angles = np.sort(rng.uniform(0, 2 * math.pi, k))
    angles = angles + np.arange(k) * 1e-9  # strictly increasing
    radius = rng.uniform(0.6, 1.0, k)
    return [
        (cx + w / 2 * r * math.cos(a), cy + h / 2 * r * math.sin(a))
        for a, r in zip(angles, radius, strict=True)
    ]


def _walk(
    cx: float, cy: float, w: float, h: float, k: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """k distinct points inside the box centred on (cx, cy), in order along x."""
    xs = np.sort(rng.uniform(cx - w / 2, cx + w / 2, k)) + np.arange(k) * 1e-9 * max(w, 1)
    ys = rng.uniform(cy - h / 2, cy + h / 2, k)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def _pg_pairs(points: list[tuple[float, float]]) -> str:
    return ",".join(f"({num(x)},{num(y)})" for x, y in points)


def _wkt_pairs(points: list[tuple[float, float]]) -> str:
    return ",".join(f"{num(x)} {num(y)}" for x, y in points)


def _wkt_one(
    kind: str, c: np.ndarray, w: float, h: float, k: int, parts: int, rng: np.random.Generator
) -> str:
    cx, cy = float(c[0]), float(c[1])
    if kind == "POINT":
        return f"POINT({num(cx)} {num(cy)})"
    if kind == "LINESTRING":
        return f"LINESTRING({_wkt_pairs(_walk(cx, cy, w, h, max(2, k), rng))})"
    if kind == "POLYGON":
        ring = _ring(cx, cy, w, h, max(3, k), rng)
        return f"POLYGON(({_wkt_pairs([*ring, ring[0]])}))"
    base = {"MULTIPOINT": "POINT", "MULTILINESTRING": "LINESTRING", "MULTIPOLYGON": "POLYGON"}.get(kind)
    if base is not None:
        pieces = []
        for i in range(max(1, parts)):  # side by side across the shape's box, so polygons never overlap
            px = cx - w / 2 + w * (i + 0.5) / max(1, parts)
            one = _wkt_one(base, np.array([px, cy]), w / max(1, parts) * 0.9, h, k, 1, rng)
            pieces.append(one[len(base) :])
        return f"{kind}({','.join(pieces)})"
    return f"GEOMETRYCOLLECTION({_wkt_one('POINT', c, w, h, k, 1, rng)})"


def draw_shapes(family: str, m: dict[str, Any], n: int, rng: np.random.Generator) -> list[str]:
    c, w, h = _inside(m, n, rng)
    counts = choice(m["counts"], n, rng)
    extra = draw(m["extra"], rng.random(n), rng)
    out = []
    if family == "wkt":
        kinds = choice(m["kinds"], n, rng)
        for i in range(n):
            kind = "GEOMETRYCOLLECTION" if kinds[i] == "GEOMCOLLECTION" else str(kinds[i])
            out.append(
                _wkt_one(kind, c[i], float(w[i]), float(h[i]), int(counts[i]), round(float(extra[i])), rng)
            )
        return out
    for i in range(n):
        cx, cy, wi, hi = float(c[i, 0]), float(c[i, 1]), float(w[i]), float(h[i])
        if family == "pg_box":
            out.append(f"({num(cx + wi / 2)},{num(cy + hi / 2)}),({num(cx - wi / 2)},{num(cy - hi / 2)})")
        elif family == "pg_circle":  # the bounding box is the centres'; the radius as learned
            out.append(f"<({num(cx)},{num(cy)}),{num(max(float(extra[i]), 0.0))}>")
        elif family == "pg_lseg":
            sign = 1 if rng.random() < 0.5 else -1
            start, end = (cx - wi / 2, cy - sign * hi / 2), (cx + wi / 2, cy + sign * hi / 2)
            if start == end:
                end = (start[0] + 1e-6, start[1])
            out.append(f"[{_pg_pairs([start, end])}]")
        elif family == "pg_line":  # through the drawn point, at a learned angle: A x + B y + C = 0
            angle = float(extra[i])
            a, b = math.sin(angle), -math.cos(angle)
            out.append(f"{{{num(a)},{num(b)},{num(-(a * cx + b * cy))}}}")
        elif family == "pg_path":
            points = _walk(cx, cy, wi, hi, max(1, int(counts[i])), rng)
            closed = rng.random() < float(m["closed"])
            out.append(f"({_pg_pairs(points)})" if closed else f"[{_pg_pairs(points)}]")
        else:  # pg_polygon
            out.append(f"({_pg_pairs(_ring(cx, cy, wi, hi, max(3, int(counts[i])), rng))})")
    return out
