"""Columns of types the copula does not model, generated validly and like the source's, never copied.

Each family (``sqltypes.native_family``) has a small model whose state is plain JSON:

- points: x and y as two numbers (quantiles, smoothed like every learned number) with their
  correlation; other shapes (boxes, circles, segments, lines, paths, polygons, WKT geometries):
  their centres as points, their sizes and vertex counts, inside the source's bounding box;
- network addresses: documentation ranges (RFC 5737, RFC 2544, RFC 3849), with the source's
  prefixes and IPv4/IPv6 mix; MAC addresses: locally administered ones;
- bit strings: the column's width, each position set as often as in the source;
- intervals: durations learned as numbers;
- JSON: the source's key structure (keys are schema, not data; a key seen in a single document is
  left out), values by type: numbers and short code lists learned, other strings generated from
  their shapes and drawn again when they equal a source string.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from relsynth import pii_detect
from relsynth.model import geometry
from relsynth.model.marginals import choice, coded, draw, levels, quantiles
from relsynth.model.text import Shapes, SourceGuard
from relsynth.schema import Column, Kind, SqlType
from relsynth.sqltypes import native_family

MAX_TEMPLATES = 200  # JSON key structures kept, the most frequent first


def learned(col: Column, null_share: float) -> bool:
    """A column of a type the copula does not model, with values to learn (or NOT NULL)."""
    return (
        col.kind is Kind.UNSUPPORTED
        and native_family(col.type) is not None
        and not col.computed
        and (null_share < 1 or not col.nullable)
    )


# -- addresses and bits ----------------------------------------------------------------------------
_DOC_V4 = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
_BENCH_V4 = ipaddress.ip_network("198.18.0.0/15")
_DOC_V6 = ipaddress.ip_network("2001:db8::/32")


def _fit_inet(values: list[Any], family: str) -> dict[str, Any]:
    v4: list[int] = []
    v6: list[int] = []
    explicit = 0
    for v in values:
        text = str(v)
        try:
            iface = (
                ipaddress.ip_interface(text) if family == "inet" else ipaddress.ip_network(text, strict=False)
            )
        except ValueError:
            continue
        prefix = iface.network.prefixlen if family == "inet" else iface.prefixlen  # type: ignore[union-attr]
        (v4 if iface.version == 4 else v6).append(prefix)
        explicit += "/" in text and prefix != (32 if iface.version == 4 else 128)
    total = len(v4) + len(v6)
    return {
        "v6": len(v6) / total if total else 0.0,
        "v4_prefixes": levels(v4) if v4 else [[32 if family == "inet" else 24, 1]],
        "v6_prefixes": levels(v6) if v6 else [[128 if family == "inet" else 64, 1]],
        "explicit": explicit / total if total else 0.0,
    }


def _draw_inet(m: dict[str, Any], family: str, n: int, rng: np.random.Generator, unique: bool) -> list[str]:
    """Addresses of the documentation ranges (and, for many distinct IPv4 values, the benchmarking
    range 198.18.0.0/15), spread over all their values."""
    out = []
    v6 = rng.random(n) < float(m["v6"])
    p4, p6 = choice(m["v4_prefixes"], n, rng), choice(m["v6_prefixes"], n, rng)
    pool4 = 768 + (_BENCH_V4.num_addresses if unique or n > 256 else 0)
    index4 = rng.permutation(pool4)[:n] if unique and n <= pool4 else rng.integers(0, pool4, n)
    for i in range(n):
        if v6[i]:
            address: Any = _DOC_V6.network_address + int(rng.integers(0, 2**62)) * 4 + int(rng.integers(0, 4))
            prefix = int(p6[i])
        else:
            k = int(index4[i])
            address = (
                _DOC_V4[k // 256].network_address + k % 256
                if k < 768
                else _BENCH_V4.network_address + k - 768
            )
            prefix = int(p4[i])
        if family == "cidr":
            out.append(str(ipaddress.ip_network((address, prefix), strict=False)))
        elif rng.random() < float(m["explicit"]):
            out.append(f"{address}/{prefix}")
        else:
            out.append(str(address))
    return out


def _draw_mac(n: int, octets: int, rng: np.random.Generator) -> list[str]:
    """Locally administered unicast addresses (second bit of the first octet set, first bit clear)."""
    raw = rng.integers(0, 256, size=(n, octets))
    raw[:, 0] = (raw[:, 0] & 0xFC) | 0x02
    return [":".join(f"{b:02x}" for b in row) for row in raw]


def _bit_width(native: str) -> int | None:
    found = re.match(r"\s*BIT\s*\(\s*(\d+)\s*\)\s*$", native, re.IGNORECASE)
    if found:
        return int(found.group(1))
    return 1 if native.strip().upper() == "BIT" else None


def _fit_bits(values: list[Any], native: str) -> dict[str, Any]:
    width = _bit_width(native)
    as_int = any(isinstance(v, bytes | int) for v in values)
    strings = []
    for v in values:
        if isinstance(v, bytes):
            v = int.from_bytes(v, "big")
        if isinstance(v, int):
            v = format(v, "b").zfill(width or 1)
        strings.append(str(v))
    lengths = [len(s) for s in strings] or [width or 1]
    longest = max(lengths)
    ones = [
        float(np.mean([s[i] == "1" for s in strings if len(s) > i])) if strings else 0.5
        for i in range(min(longest, 256))
    ]
    return {"width": width, "lengths": levels(lengths), "ones": ones, "int": as_int}


def _draw_bits(m: dict[str, Any], n: int, rng: np.random.Generator) -> list[Any]:
    ones = np.asarray(m["ones"] or [0.5], dtype=float)
    lengths = [int(m["width"])] * n if m["width"] else choice(m["lengths"], n, rng)
    out: list[Any] = []
    for k in lengths:
        p = np.concatenate([ones, np.full(max(0, k - len(ones)), ones.mean())])[:k]
        bits = "".join("1" if b else "0" for b in rng.random(k) < p)
        out.append(int(bits, 2) if m["int"] else bits)
    return out


# -- JSON --------------------------------------------------------------------------------------------
def _loaded(v: Any) -> Any:
    if isinstance(v, str | bytes):
        return json.loads(v)
    return v


def _skeleton(doc: Any, keep: set[str], path: str, leaves: dict[str, list[Any]]) -> Any:
    """The document with its values replaced by their path (and filed under it), rare keys left out."""
    if isinstance(doc, dict):
        return {k: _skeleton(v, keep, f"{path}.{k}", leaves) for k, v in doc.items() if k in keep}
    if isinstance(doc, list):
        return [_skeleton(v, keep, f"{path}[]", leaves) for v in doc]
    leaves.setdefault(path, []).append(doc)
    return {"\x00leaf": path}


def _keys(doc: Any, out: set[str]) -> set[str]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.add(k)
            _keys(v, out)
    elif isinstance(doc, list):
        for v in doc:
            _keys(v, out)
    return out


def _fit_leaf(values: list[Any]) -> dict[str, Any]:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    strings = [v for v in values if isinstance(v, str)]
    bools = [v for v in values if isinstance(v, bool)]
    out: dict[str, Any] = {
        "types": levels(["null" if v is None else type(v).__name__ for v in values]),
        "true": float(np.mean(bools)) if bools else 0.5,
    }
    if numbers:
        out["number"] = {"levels": levels(numbers)} if coded(numbers) else quantiles(np.asarray(numbers))
    if strings:
        if coded(strings):
            out["string"] = {"levels": levels(strings)}
        else:
            # Like a text column's, and stricter: no letter of a single name or sentence, nothing
            # of a personal value (an e-mail's local part and domain) is kept, only its shape.
            personal = pii_detect.detect(pd.Series(strings))[0] is not None
            shapes = Shapes.fit(pd.Series(strings), varied_letters=True, literals=not personal)
            out["string"] = {"templates": shapes.templates, "weights": shapes.weights}
    return out


def _fit_json(values: list[Any]) -> dict[str, Any]:
    docs = []
    for v in values:
        try:
            docs.append(_loaded(v))
        except (ValueError, TypeError):
            continue
    seen: Counter[str] = Counter()
    for doc in docs:
        seen.update(_keys(doc, set()))
    keep = {k for k, c in seen.items() if c >= 2}  # a key of a single document may be data
    leaves: dict[str, list[Any]] = {}
    templates: Counter[str] = Counter()
    for doc in docs:
        templates[json.dumps(_skeleton(doc, keep, "", leaves), sort_keys=False)] += 1
    top = sorted(templates.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TEMPLATES]
    return {
        "templates": [[t, c] for t, c in top] or [["{}", 1]],  # as text: model files sort keys
        "leaves": {path: _fit_leaf(vals) for path, vals in sorted(leaves.items())},
        "text": any(isinstance(v, str) for v in values),
    }


def _draw_leaf(m: dict[str, Any], rng: np.random.Generator, guard: SourceGuard | None) -> Any:
    kind = choice(m["types"], 1, rng)[0]
    if kind == "NoneType" or kind == "null":
        return None
    if kind == "bool":
        return bool(rng.random() < float(m["true"]))
    if kind in {"int", "float"} and "number" in m:
        q = m["number"]
        if "levels" in q:
            return choice(q["levels"], 1, rng)[0]
        value = float(draw(q, rng.random(1), rng)[0])
        return int(value) if q["integer"] else value
    if kind == "str" and "string" in m:
        s = m["string"]
        if "levels" in s:
            return choice(s["levels"], 1, rng)[0]
        shapes = Shapes(s["templates"], s["weights"])
        for _ in range(20):
            candidate = str(shapes.generate(1, rng)[0])
            if guard is None or not guard.copies(np.asarray([candidate], dtype=object))[0]:
                return candidate
        return candidate + "-" + str(int(rng.integers(0, 10**6)))
    return None


def _fill(node: Any, leaves: dict[str, Any], rng: np.random.Generator, guard: SourceGuard | None) -> Any:
    if isinstance(node, dict) and "\x00leaf" in node:
        m = leaves.get(node["\x00leaf"])
        return None if m is None else _draw_leaf(m, rng, guard)
    if isinstance(node, dict):
        return {k: _fill(v, leaves, rng, guard) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, leaves, rng, guard) for v in node]
    return node


def _draw_json(m: dict[str, Any], n: int, rng: np.random.Generator, guard: SourceGuard | None) -> list[str]:
    picks = choice([[i, c] for i, (_, c) in enumerate(m["templates"])], n, rng)
    skeletons = {i: json.loads(m["templates"][i][0]) for i in set(picks)}
    return [json.dumps(_fill(skeletons[i], m["leaves"], rng, guard), ensure_ascii=False) for i in picks]


def _strings(doc: Any, out: list[str]) -> list[str]:
    if isinstance(doc, dict):
        for v in doc.values():
            _strings(v, out)
    elif isinstance(doc, list):
        for v in doc:
            _strings(v, out)
    elif isinstance(doc, str):
        out.append(doc)
    return out


def source_guard(t: SqlType, values: pd.Series) -> SourceGuard | None:
    """The strings inside a JSON column's documents, as keyed hashes held in memory only (as
    relsynth.model.guards does for text): a generated string never equals one of them."""
    if native_family(t) != "json":
        return None
    strings: list[str] = []
    for v in values.dropna():
        try:
            _strings(_loaded(v), strings)
        except (ValueError, TypeError):
            continue
    series = pd.Series(strings, dtype=object)
    return SourceGuard.fit(series, os.urandom(16), fold=True) if strings else None


# -- the model -------------------------------------------------------------------------------------
def fit(t: SqlType, values: pd.Series) -> dict[str, Any]:
    """The state of a column's generator (plain JSON), from its non-NULL source values."""
    family = native_family(t)
    assert family is not None, "only types with a native family are fitted here"
    known = [v for v in values.tolist() if v is not None and not (isinstance(v, float) and v != v)]
    state: dict[str, Any] = {"family": family}
    if family == "pg_point":
        xy = [n[:2] for n in (geometry.numbers(str(v)) for v in known) if len(n) >= 2]
        state["points"] = geometry.fit_points(np.asarray(xy, dtype=float).reshape(-1, 2))
    elif family.startswith("pg_") or family == "wkt":
        declared = (t.native or "GEOMETRY").upper().split("(")[0].strip()
        texts = [v.decode() if isinstance(v, bytes) else str(v) for v in known]
        state["shapes"] = geometry.fit_shapes(family, texts, declared)
        state["declared"] = declared
    elif family in {"inet", "cidr"}:
        state["inet"] = _fit_inet(known, family)
    elif family == "bits":
        state["bits"] = _fit_bits(known, t.native or "")
    elif family == "interval":
        seconds = [v.total_seconds() if isinstance(v, dt.timedelta) else float("nan") for v in known]
        state["seconds"] = quantiles(np.asarray(seconds, dtype=float))
    elif family == "json":
        state["json"] = _fit_json(known)
    return {"native": state}


def generate(
    constant: dict[str, Any],
    n: int,
    rng: np.random.Generator,
    *,
    unique: bool = False,
    guard: SourceGuard | None = None,
) -> np.ndarray:
    """n valid values of the column's type from its fitted state."""
    m = constant["native"]
    family = m["family"]
    values: list[Any]
    if family == "pg_point" or (family == "wkt" and m.get("declared") == "POINT"):
        model = m["points"] if family == "pg_point" else m["shapes"]["centres"]
        xy = geometry.draw_points(model, n, rng)
        if family == "pg_point":
            values = [f"({geometry.num(x)},{geometry.num(y)})" for x, y in xy]
        else:
            values = [f"POINT({geometry.num(x)} {geometry.num(y)})" for x, y in xy]
    elif family.startswith("pg_") or family == "wkt":
        values = geometry.draw_shapes(family, m["shapes"], n, rng)
    elif family in {"inet", "cidr"}:
        values = _draw_inet(m["inet"], family, n, rng, unique)
    elif family in {"macaddr", "macaddr8"}:
        values = _draw_mac(n, 8 if family == "macaddr8" else 6, rng)
    elif family == "bits":
        values = _draw_bits(m["bits"], n, rng)
    elif family == "interval":
        q = m["seconds"]
        values = [dt.timedelta(seconds=float(s)) for s in draw(q, rng.random(n), rng)]
    else:
        values = _draw_json(m["json"], n, rng, guard)
    out = np.empty(n, dtype=object)
    out[:] = values
    return out


def native_columns(tm: Any, table: Any, frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Fill the columns whose spec is 'native', keeping each one's NULL share."""
    n = len(frame)
    for spec in tm.columns:
        if spec.how != "native" or not isinstance(spec.constant, dict):
            continue
        values = generate(spec.constant, n, rng, unique=spec.unique, guard=spec.guard)
        if spec.null_share > 0 and table.column(spec.name).nullable:
            values[rng.random(n) < spec.null_share] = None
        frame[spec.name] = values
