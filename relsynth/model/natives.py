"""Columns of types the copula does not model, generated validly and like the source's, never copied.

Each family (``sqltypes.native_family``) has a small model whose state is plain JSON:

- points: x and y as two numbers (quantiles, smoothed like every learned number) with their
  correlation; other shapes (boxes, circles, segments, lines, paths, polygons, WKT geometries):
  their centres as points, their sizes and vertex counts, inside a box learned like them;
- network addresses (PostgreSQL's inet and cidr, MariaDB's INET4 and INET6): documentation ranges
  (RFC 5737, RFC 2544, RFC 3849), with the source's prefixes and IPv4/IPv6 mix, distinct where
  UNIQUE; MAC addresses: locally administered ones;
- bit strings: the column's width, each position set as often as in the source;
- intervals: durations learned as numbers;
- ranges (PostgreSQL's daterange, tsrange, numrange, ...): lower bounds and lengths learned as
  numbers (days, seconds), empty ranges and open ends as often as in the source, written as
  '[lower,upper)' text (an HR history keyed by (emp_no, title, during));
- JSON: the source's key structure (keys are schema, not data; a key seen in a single document is
  left out), values by type: numbers and short code lists learned, strings as an array's strings
  (below: a leaf's common values kept with their share however rare its other values are);
- arrays: how many elements (the share of empty arrays, the other lengths as a code list or as
  quantiles) and the share of NULL elements; elements by the element type: numbers as quantiles or a
  code list, dates and times as quantiles of epoch seconds, booleans as a share, uuids at random,
  enum labels as seen (labels are schema), strings as their common values (a value seen fewer than
  MIN_SUPPORT times is neither kept nor emitted) and the others generated from their shapes and drawn
  again when they equal a source string (a few rare values beside common ones folded into them:
  neither they nor their shape are kept), other types (inet[], json[]) by their own family above;
  no element repeated in an array where no source array repeats one.
  Multi-dimensional arrays (int[][]: a 3x2 matrix a row) keep their shapes: each array's sizes
  in each dimension as a code list (its shapes seen at least MIN_SUPPORT times; else its
  commonest), elements learned flattened and written back rectangular, as PostgreSQL requires;
  a PostgreSQL target gets Python lists, which COPY writes as arrays; a MariaDB/SQLite target's
  JSON column gets JSON lists (relsynth.writer).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
import os
import re
import uuid
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from relsynth import pii_detect
from relsynth.model import geometry
from relsynth.model.marginals import MIN_SUPPORT, choice, coded, common_levels, draw, levels, quantiles
from relsynth.model.text import MIN_SHAPE_VALUES, Shapes, SourceGuard, fresh
from relsynth.schema import Column, Kind, SqlType
from relsynth.sqltypes import INTEGER_TYPES, STRING_TYPES, column_family, native_family
from relsynth.transform import CLOCK_FORMATS, from_seconds, grain_of, text_date_format, to_epoch_seconds

MAX_TEMPLATES = 200  # JSON key structures kept, the most frequent first
MAX_CODE_LENGTH = 64  # an array's string element longer than this is text, never a code
MAX_ELEMENTS = 10_000  # elements per generated array, at most


def learned(col: Column, null_share: float) -> bool:
    """A column of a type the copula does not model (a text of JSON documents too), with values to
    learn (or NOT NULL)."""
    return (
        col.kind is Kind.UNSUPPORTED
        and column_family(col) is not None
        and not col.computed
        and (null_share < 1 or not col.nullable)
    )


# -- addresses and bits ----------------------------------------------------------------------------
_DOC_V4 = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
_BENCH_V4 = ipaddress.ip_network("198.18.0.0/15")
_DOC_V6 = ipaddress.ip_network("2001:db8::/32")


def _fit_inet(values: list[Any], family: str) -> dict[str, Any]:
    """The IPv4/IPv6 mix and prefixes of addresses. MariaDB's INET4 and INET6 hold one family and
    no prefix: an INET6's IPv4-mapped addresses (::ffff:192.0.2.1) count as its IPv4 share."""
    v4: list[int] = []
    v6: list[int] = []
    explicit = 0
    for v in values:
        text = str(v)
        try:
            iface = (
                ipaddress.ip_interface(text) if family != "cidr" else ipaddress.ip_network(text, strict=False)
            )
        except ValueError:
            continue
        prefix = iface.network.prefixlen if family != "cidr" else iface.prefixlen  # type: ignore[union-attr]
        mapped = family == "inet6" and getattr(iface, "ip", None) is not None and iface.ip.ipv4_mapped  # type: ignore[union-attr]
        (v4 if iface.version == 4 or mapped else v6).append(prefix)
        explicit += "/" in text and prefix != (32 if iface.version == 4 else 128)
    total = len(v4) + len(v6)
    if family in {"inet4", "inet6"}:
        explicit = 0  # neither takes a prefix
    share6 = {"inet4": 0.0, "inet6": 1.0}.get(family, 0.0)  # a column of NULLs only: its own family
    return {
        "v6": len(v6) / total if total and family != "inet4" else share6,
        "v4_prefixes": levels(v4) if v4 else [[24 if family == "cidr" else 32, 1]],
        "v6_prefixes": levels(v6) if v6 else [[64 if family == "cidr" else 128, 1]],
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
        elif family == "inet6" and not v6[i]:
            out.append(f"::ffff:{address}")  # IPv4-mapped: an INET6 holds IPv6 addresses only
        elif family in {"inet4", "inet6"}:
            out.append(str(address))
        elif rng.random() < float(m["explicit"]):
            out.append(f"{address}/{prefix}")
        else:
            out.append(str(address))
    if unique and family != "cidr":  # IPv6 addresses drawn at random: a repeat is unlikely, never kept
        seen: set[str] = set()
        for i in range(n):
            while v6[i] and out[i] in seen:
                address = _DOC_V6.network_address + int(rng.integers(0, 2**62)) * 4 + int(rng.integers(0, 4))
                tail = out[i][out[i].index("/") :] if "/" in out[i] else ""
                out[i] = f"{address}{tail}"
            seen.add(out[i])
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


def _skeleton(
    doc: Any, keep: set[str], path: str, leaves: dict[str, list[Any]], who: int, holders: dict[str, list[int]]
) -> Any:
    """The document with its values replaced by their path (and filed under it, with the
    document's person), rare keys left out."""
    if isinstance(doc, dict):
        return {
            k: _skeleton(v, keep, f"{path}.{k}", leaves, who, holders) for k, v in doc.items() if k in keep
        }
    if isinstance(doc, list):
        return [_skeleton(v, keep, f"{path}[]", leaves, who, holders) for v in doc]
    leaves.setdefault(path, []).append(doc)
    holders.setdefault(path, []).append(who)
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


def _fit_leaf(values: list[Any], holders: list[int] | None = None, k: int = 1) -> dict[str, Any]:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    strings = [v for v in values if isinstance(v, str)]
    bools = [v for v in values if isinstance(v, bool)]
    out: dict[str, Any] = {
        "types": levels(["null" if v is None else type(v).__name__ for v in values]),
        "true": float(np.mean(bools)) if bools else 0.5,
    }
    if numbers:
        out["number"] = {"levels": levels(numbers)} if coded(numbers) else quantiles(np.asarray(numbers))
    dates = _fit_dates(strings) if len(strings) == len(values) else None
    if dates is not None:
        out["date"] = dates
    elif strings:
        # As an array's strings: the common values kept with their share, however rare the
        # others (one document's city sent every document's city to shapes), the rare ones
        # folded into them or generated from their shapes (no letter of a single name or
        # sentence, nothing of a personal value: an e-mail's local part and domain).
        who = None
        if holders is not None:
            who = [h for v, h in zip(values, holders, strict=True) if isinstance(v, str)]
        out["string"] = _fit_strings(strings, who, k)
    return out


# ISO dates and times, and clock times ('09:41', '25:10:00'), only: a legacy shape (YYYYMMDD) in a
# document may as well be a code.
_JSON_DATE_FORMATS = frozenset(
    {
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        *CLOCK_FORMATS,
    }
)
_ISO_MINUTES = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")  # '2024-03-10T09:41' (HTML's datetime-local)
_OFFSET = re.compile(r"^(.*?)(Z|[+-]\d{2}:?\d{2})$")


def _fit_dates(strings: list[str]) -> dict[str, Any] | None:
    """A JSON leaf whose every string is a date or a time in one format (FHIR's birthDate,
    effectiveDateTime): its quantiles in seconds, as a number's, written back in that format (as
    shapes they came out '9846-91-77'). One UTC offset shared by all ('+00:00') is kept as text."""
    if len(strings) < MIN_SUPPORT:
        return None
    suffix = ""
    found = [_OFFSET.match(v) for v in strings]
    if all(found) and len({m.group(2) for m in found if m}) == 1:
        suffix = found[0].group(2) if found[0] else ""
        strings = [m.group(1) for m in found if m]
    series = pd.Series(strings, dtype=object)
    fmt = text_date_format(series)
    if fmt is None and all(_ISO_MINUTES.match(v) for v in strings):
        fmt = "%Y-%m-%dT%H:%M"
    if fmt is None or fmt not in _JSON_DATE_FORMATS:
        return None
    try:
        seconds = to_epoch_seconds(series, text_format=fmt)
    except (ValueError, TypeError, OverflowError):
        return None
    # The step the source's times sit on (a minute, a quarter hour, a second, a millisecond):
    # drawn times are put on it, so '09:41' stays to the minute and '09:41:00' never gains seconds.
    return {"format": fmt, "suffix": suffix, "grain": grain_of(seconds), **quantiles(seconds)}


def _on_grain(seconds: np.ndarray, grain: float) -> np.ndarray:
    """Seconds on the source's step (a model file without one: whole seconds, as before)."""
    return np.round(np.asarray(seconds, dtype=float) / grain) * grain


def _fit_json(values: list[Any], people: np.ndarray | None = None, k: int = 2) -> dict[str, Any]:
    docs = []
    holders: list[int] = []
    for i, v in enumerate(values):
        try:
            docs.append(_loaded(v))
        except (ValueError, TypeError):
            continue
        holders.append(int(people[i]) if people is not None and people[i] >= 0 else -1 - i)
    seen: Counter[str] = Counter()
    owners: dict[str, set[int]] = {}
    for doc, who in zip(docs, holders, strict=True):
        keys = _keys(doc, set())
        seen.update(keys)
        for key in keys:
            owners.setdefault(key, set()).add(who)
    # A key of a single document, or of few people, may be data; one every document holds (K of
    # them at least) is the column's schema (Odoo's translated names, {"en_US", "fr_FR"} in each of
    # 10 groups one admin made: left out as one person's, every document came out {}).
    every = {key for key, c in seen.items() if c == len(docs) >= max(2, k)}
    keep = every | {key for key, c in seen.items() if c >= max(2, k) and len(owners[key]) >= max(2, k)}
    leaves: dict[str, list[Any]] = {}
    leaf_holders: dict[str, list[int]] = {}
    templates: Counter[str] = Counter()
    tuples: dict[str, list[tuple[list[Any], int]]] = {}  # each template's documents' leaf values
    for doc, who in zip(docs, holders, strict=True):
        text = json.dumps(_skeleton(doc, keep, "", leaves, who, leaf_holders), sort_keys=False)
        templates[text] += 1
        tuples.setdefault(text, []).append((_leaf_values(doc, keep, []), who))
    top = sorted(templates.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TEMPLATES]
    return {
        "templates": [[t, c] for t, c in top] or [["{}", 1]],  # as text: model files sort keys
        "leaves": {path: _fit_leaf(vals, leaf_holders[path], k) for path, vals in sorted(leaves.items())},
        "text": any(isinstance(v, str) for v in values),
        "joint": [_fit_joint(tuples[t], k) for t, _ in top],
    }


def _leaf_values(doc: Any, keep: set[str] | None, out: list[Any]) -> list[Any]:
    """A document's leaf values in the order _skeleton files them (rare keys left out; None: a
    drawn document, every key kept)."""
    if isinstance(doc, dict):
        for key, v in doc.items():
            if keep is None or key in keep:
                _leaf_values(v, keep, out)
    elif isinstance(doc, list):
        for v in doc:
            _leaf_values(v, keep, out)
    else:
        out.append(doc)
    return out


def _fit_joint(docs: list[tuple[list[Any], int]], k: int) -> dict[str, Any]:
    """The leaves of one key structure drawn together: a document's values (its name in English
    and in French) as one value where held by MIN_SUPPORT documents and k people, with their
    share; and in the others, how often a leaf equals an earlier one ('Public' in both
    languages). Drawn leaf by leaf, "Great cabinet" came out beside "Super tiroir"."""
    keys = [json.dumps(values, ensure_ascii=False, default=str) for values, _ in docs]
    common = common_levels(keys, [who for _, who in docs], k) if len(docs[0][0]) > 1 else []
    kept = {v for v, _ in common}
    rest = [values for (values, _), key in zip(docs, keys, strict=True) if key not in kept]
    same = []
    width = len(docs[0][0])
    if rest and all(len(values) == width for values in rest):
        for j in range(1, width):
            for i in range(j):
                share = float(np.mean([isinstance(v[j], str) and v[i] == v[j] for v in rest]))
                if share > 0:
                    same.append([i, j, share])
                    break
    return {
        "tuples": [[json.loads(v), c] for v, c in common],
        "share": 1 - len(rest) / len(docs),
        "same": same,
    }


def _draw_leaf(
    m: dict[str, Any], rng: np.random.Generator, guard: SourceGuard | None, shaped: bool = False
) -> Any:
    """A leaf's value by its type; ``shaped``: a string from the leaf's shapes where it has some
    (its common values are drawn with the document's other leaves: _fit_joint)."""
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
    if kind == "str" and "date" in m:
        d = m["date"]
        seconds = _on_grain(draw(d, rng.random(1), rng), float(d.get("grain", 1.0)))
        return str(from_seconds(seconds, "text", d["format"])[0]) + d["suffix"]
    if kind == "str" and "string" in m:
        s = m["string"]
        # A code list with the share of its rows ("coded"; all rows in a model of one or the other)
        common = shaped and "templates" in s
        if (
            s.get("levels")
            and not common
            and ("templates" not in s or rng.random() < float(s.get("coded", 1.0)))
        ):
            return choice(s["levels"], 1, rng)[0]
        if "templates" not in s:
            return ""  # a string still: a CHECK on the leaf's JSON type holds (jsonb_typeof)
        shapes = Shapes(s["templates"], s["weights"])
        for _ in range(20):
            candidate = str(shapes.generate(1, rng)[0])
            if guard is None or not guard.copies(np.asarray([candidate], dtype=object))[0]:
                return candidate
        return candidate + "-" + str(int(rng.integers(0, 10**6)))
    return None


def _fill(
    node: Any,
    leaves: dict[str, Any],
    rng: np.random.Generator,
    guard: SourceGuard | None,
    given: list[Any] | None = None,
    shaped: bool = False,
) -> Any:
    """The skeleton with its leaves drawn; ``given``: the leaves' values in order, taken (popped)
    instead of drawn."""
    if isinstance(node, dict) and "\x00leaf" in node:
        if given:
            return given.pop(0)
        m = leaves.get(node["\x00leaf"])
        return None if m is None else _draw_leaf(m, rng, guard, shaped)
    if isinstance(node, dict):
        return {k: _fill(v, leaves, rng, guard, given, shaped) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, leaves, rng, guard, given, shaped) for v in node]
    return node


def _draw_json(m: dict[str, Any], n: int, rng: np.random.Generator, guard: SourceGuard | None) -> list[str]:
    picks = choice([[i, c] for i, (_, c) in enumerate(m["templates"])], n, rng)
    skeletons = {i: json.loads(m["templates"][i][0]) for i in set(picks)}
    joint = m.get("joint") or [None] * len(m["templates"])  # an older model file: leaf by leaf
    return [
        json.dumps(_document(skeletons[i], m["leaves"], joint[i], rng, guard), ensure_ascii=False)
        for i in picks
    ]


def _document(
    skeleton: Any,
    leaves: dict[str, Any],
    joint: dict[str, Any] | None,
    rng: np.random.Generator,
    guard: SourceGuard | None,
) -> Any:
    """One document: a common set of leaf values drawn together at their share, else leaf by leaf
    (strings from their shapes), each leaf equal to an earlier one as often as the source's."""
    if joint is None:
        return _fill(skeleton, leaves, rng, guard)
    if joint["tuples"] and rng.random() < float(joint["share"]):
        return _fill(skeleton, leaves, rng, guard, list(choice(joint["tuples"], 1, rng)[0]))
    values = _leaf_values(_fill(skeleton, leaves, rng, guard, None, bool(joint["tuples"])), None, [])
    for i, j, share in joint["same"]:
        if j < len(values) and rng.random() < float(share):
            values[j] = values[i]
    return _fill(skeleton, leaves, rng, guard, values) if values else _fill(skeleton, leaves, rng, guard)


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
    """The strings inside a JSON column's documents or an array's elements (those of a json[]'s
    documents too), as keyed hashes held in memory only (as relsynth.model.guards does for text):
    a generated string never equals one of them."""
    family = native_family(t)
    if family == "array" and t.item is not None and native_family(t.item) in {None, "json"}:
        arrays = [_flat(a, []) for a in map(_array_value, values.dropna()) if a is not None]
        return source_guard(t.item, pd.Series([e for a in arrays for e in a], dtype=object))
    if family not in {None, "json"} or (family is None and t.name not in STRING_TYPES):
        return None
    strings: list[str] = []
    for v in values.dropna():
        if family is None:
            strings.append(str(v))
            continue
        try:
            _strings(_loaded(v), strings)
        except (ValueError, TypeError):
            continue
    series = pd.Series(strings, dtype=object)
    return SourceGuard.fit(series, os.urandom(16), fold=True) if strings else None


# -- arrays ------------------------------------------------------------------------------------------
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DATE = _EPOCH.date()


def _flat(value: Any, out: list[Any]) -> list[Any]:
    """A (multi-dimensional) array's elements in order."""
    for v in value:
        if isinstance(v, list | tuple):
            _flat(v, out)
        else:
            out.append(v)
    return out


def _shape(value: list[Any]) -> tuple[int, ...]:
    """An array's size in each dimension: (3, 2) for three rows of two; (k,) for a flat one."""
    dims: list[int] = []
    level: Any = value
    while isinstance(level, list | tuple):
        dims.append(len(level))
        if not level:
            break
        level = level[0]
    return tuple(dims)


def _fit_shapes(arrays: list[list[Any]]) -> list[list[Any]] | None:
    """[[shape, count], ...] of the non-empty arrays where any has more than one dimension (None
    where all are flat): the shapes MIN_SUPPORT arrays have, else the commonest alone."""
    shapes = [_shape(a) for a in arrays if a]
    if not any(len(sh) > 1 for sh in shapes):
        return None
    found = [[list(sh), c] for sh, c in levels([sh for sh in shapes if math.prod(sh) > 0] or [(1,)])]
    common = [lv for lv in found if lv[1] >= MIN_SUPPORT]
    return common or found[:1]


def _shaped(items: list[Any], shape: list[int]) -> list[Any]:
    """``items`` (as many as the shape holds) nested as an array of that shape."""
    if len(shape) <= 1:
        return list(items)
    step = len(items) // shape[0] if shape[0] else 0
    return [_shaped(items[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def _array_value(value: Any) -> list[Any] | None:
    """An array as a list: the driver's, or parsed from PostgreSQL's text form, which psycopg
    returns for arrays of types it has no loader for (enum[])."""
    if isinstance(value, list | tuple):
        return list(value)
    if not isinstance(value, str):
        return None
    text = value.split("=", 1)[1] if value.startswith("[") and "=" in value else value  # [0:2]={...}
    try:
        parsed, end = _parse_array(text.strip(), 0)
    except (IndexError, ValueError):
        return None
    return parsed if end == len(text.strip()) else None


def _parse_array(text: str, pos: int) -> tuple[list[Any], int]:
    """The array literal starting at text[pos] ('{'), and the position after it."""
    if text[pos] != "{":
        raise ValueError("not an array literal")
    out: list[Any] = []
    pos += 1
    while text[pos] != "}":
        if text[pos] == "{":
            item, pos = _parse_array(text, pos)
            out.append(item)
        elif text[pos] == '"':
            chars, pos = [], pos + 1
            while text[pos] != '"':
                pos += text[pos] == "\\"
                chars.append(text[pos])
                pos += 1
            out.append("".join(chars))
            pos += 1
        else:
            end = pos
            while text[end] not in ",}":
                end += 1
            bare = text[pos:end].strip()
            out.append(None if bare.upper() == "NULL" else bare)
            pos = end
        if text[pos] == ",":
            pos += 1
    return out, pos + 1


def _item_kind(item: SqlType) -> str:
    if item.name in INTEGER_TYPES:
        return "int"
    if item.name in {"float", "double", "numeric"}:
        return "float"
    if item.name in STRING_TYPES:
        return "string"
    if item.name in {"boolean", "date", "datetime", "time", "uuid", "enum"}:
        return item.name
    return "native"


def _seconds(v: Any) -> float:
    """Epoch seconds of a date or timestamp (aware ones at their instant), seconds of day of a time."""
    if isinstance(v, dt.datetime):
        return v.timestamp() if v.tzinfo is not None else (v - _EPOCH).total_seconds()
    if isinstance(v, dt.date):
        return float((v - _EPOCH_DATE).days * 86400)
    if isinstance(v, dt.time):
        return v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
    return float("nan")


def _fit_count(values: list[Any]) -> dict[str, Any]:
    """A code list when every value is common, else quantiles (no rare value kept as it is)."""
    return {"levels": levels(values)} if coded(values) else quantiles(np.asarray(values, dtype=float))


def _draw_count(q: dict[str, Any], n: int, rng: np.random.Generator) -> list[Any]:
    return choice(q["levels"], n, rng) if "levels" in q else list(draw(q, rng.random(n), rng))


def _fit_strings(strings: list[str], holders: list[int] | None = None, k: int = 1) -> dict[str, Any]:
    """Common short values (each seen at least MIN_SUPPORT times, by k people) as a code list,
    with their share; the other strings only as shapes (no letter of a single value, nothing of a
    personal one). Rare values too few to have a shape of their own (fewer than MIN_SHAPE_VALUES
    distinct ones beside common values: one patient's city) are folded into the common values:
    neither they nor their shape are in the model, and no row is drawn from them."""
    personal = pii_detect.detect(pd.Series(strings, dtype=object))[0] is not None
    short = [len(s) <= MAX_CODE_LENGTH for s in strings]
    common = (
        []
        if personal
        else common_levels(
            [s for s, ok in zip(strings, short, strict=True) if ok],
            None if holders is None else [h for h, ok in zip(holders, short, strict=True) if ok],
            k,
        )
    )
    kept = {v for v, _ in common}
    rest = [s for s in strings if s not in kept]
    if common and len(set(rest)) < MIN_SHAPE_VALUES:
        return {"levels": common, "coded": 1.0}
    out: dict[str, Any] = {"levels": common, "coded": 1 - len(rest) / len(strings)}
    if rest:
        shapes = Shapes.fit(pd.Series(rest, dtype=object), varied_letters=True, literals=not personal)
        out["templates"], out["weights"] = shapes.templates, shapes.weights
    return out


def _fit_items(
    item: SqlType, present: list[Any], holders: list[int] | None = None, k: int = 1
) -> dict[str, Any]:
    kind = _item_kind(item)
    out: dict[str, Any] = {"kind": kind}
    if not present:
        return out
    if kind in {"int", "float"}:
        numbers = [float(v) for v in present]
        out["number"] = _fit_count([int(v) for v in numbers] if kind == "int" else numbers)
    elif kind == "string":
        out["string"] = _fit_strings([str(v) for v in present], holders, k)
    elif kind == "boolean":
        out["true"] = float(np.mean([bool(v) for v in present]))
    elif kind in {"date", "datetime", "time"}:
        out["seconds"] = quantiles(np.asarray([_seconds(v) for v in present], dtype=float))
    elif kind == "enum":
        out["labels"] = levels([str(v) for v in present])  # enum labels are schema, not data
    elif kind == "native":
        out["native"] = fit(item, pd.Series(present, dtype=object))["native"]
    return out


def _element_key(e: Any) -> Any:
    try:
        hash(e)
    except TypeError:
        return repr(e)
    return e


def _repeats(elements: list[Any]) -> bool:
    """Whether an array holds a (non-NULL) element twice."""
    present = [_element_key(e) for e in elements if e is not None and not (isinstance(e, float) and e != e)]
    return len(set(present)) < len(present)


def _fit_array(t: SqlType, known: list[Any], people: np.ndarray | None = None, k: int = 1) -> dict[str, Any]:
    parsed = [(_array_value(v), i) for i, v in enumerate(known)]
    shapes = _fit_shapes([a for a, _ in parsed if a is not None])
    arrays = [_flat(a, []) for a, _ in parsed if a is not None]
    owners = [
        int(people[i]) if people is not None and people[i] >= 0 else -1 - i
        for a, i in parsed
        if a is not None
    ]
    lengths = [len(a) for a in arrays]
    elements = [e for a in arrays for e in a]
    ok = [e is not None and not (isinstance(e, float) and e != e) for e in elements]
    present = [e for e, good in zip(elements, ok, strict=True) if good]
    holders = [h for a, h in zip(arrays, owners, strict=True) for _ in a]
    holders = [h for h, good in zip(holders, ok, strict=True) if good]
    filled = [k for k in lengths if k > 0]
    assert t.item is not None, "an array family has an element type"
    return {
        "empty": 1 - len(filled) / len(lengths) if lengths else 1.0,
        "lengths": _fit_count(filled) if filled else {"levels": [[1, 1]]},
        "null_elements": 1 - len(present) / len(elements) if elements else 0.0,
        "items": _fit_items(t.item, present, holders, k),
        "timezone": bool(t.item.timezone),
        "scale": t.item.scale,
        # No source array repeats an element (a set of tags): neither does a generated one.
        "distinct": any(len(a) > 1 for a in arrays) and not any(_repeats(a) for a in arrays),
    } | ({"shapes": shapes} if shapes is not None else {})


def _draw_strings(
    m: dict[str, Any], n: int, rng: np.random.Generator, guard: SourceGuard | None
) -> np.ndarray:
    out = np.empty(n, dtype=object)
    coded_rows = rng.random(n) < float(m["coded"]) if m["levels"] else np.zeros(n, dtype=bool)
    if "templates" not in m:
        coded_rows[:] = bool(m["levels"])
    out[coded_rows] = choice(m["levels"], int(coded_rows.sum()), rng) if coded_rows.any() else []
    others = ~coded_rows
    if others.any():
        shapes = Shapes(m["templates"], m["weights"]) if "templates" in m else Shapes(["aaaaaaaa"], [1.0])
        out[others] = fresh(shapes.generate, int(others.sum()), rng, guard=guard, unique=False)
    return out


def _draw_items(
    m: dict[str, Any], n: int, rng: np.random.Generator, guard: SourceGuard | None, tz: bool, scale: Any
) -> list[Any]:
    """n elements of the array's type (None where nothing was learned: NULL elements)."""
    kind = m["kind"]
    if n == 0:
        return []
    if kind == "uuid":
        return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]
    if kind == "enum" and "labels" in m:
        return choice(m["labels"], n, rng)
    if kind == "boolean":
        return [bool(b) for b in rng.random(n) < float(m.get("true", 0.5))]
    if kind in {"int", "float"} and "number" in m:
        x = _draw_count(m["number"], n, rng)
        if kind == "int":
            return [round(float(v)) for v in x]
        return [round(float(v), int(scale)) if scale is not None else float(v) for v in x]
    if kind == "string" and "string" in m:
        return list(_draw_strings(m["string"], n, rng, guard))
    if kind in {"date", "datetime", "time"} and "seconds" in m:
        return _times(kind, draw(m["seconds"], rng.random(n), rng), tz)
    if kind == "native" and "native" in m:
        return list(generate({"native": m["native"]}, n, rng, guard=guard))
    return [None] * n


def _times(kind: str, seconds: np.ndarray, tz: bool) -> list[Any]:
    if kind == "date":
        return [_EPOCH_DATE + dt.timedelta(days=int(s // 86400)) for s in seconds]
    if kind == "time":
        return [
            (dt.datetime.min + dt.timedelta(seconds=float(np.clip(s, 0, 86399.999999)))).time()
            for s in seconds
        ]
    stamps = [_EPOCH + dt.timedelta(seconds=float(s)) for s in seconds]
    return [s.replace(tzinfo=dt.UTC) for s in stamps] if tz else stamps


def _draw_array(
    m: dict[str, Any], n: int, rng: np.random.Generator, guard: SourceGuard | None
) -> list[list[Any]]:
    shapes: list[Any] = [None] * n
    if m.get("shapes"):  # multi-dimensional: a shape a row, as many elements as it holds
        shapes = choice(m["shapes"], n, rng)
        sizes = np.asarray([math.prod(sh) for sh in shapes], dtype=float)
    else:
        sizes = np.clip(np.rint(np.asarray(_draw_count(m["lengths"], n, rng), dtype=float)), 1, MAX_ELEMENTS)
    sizes = np.where(rng.random(n) < float(m["empty"]), 0, sizes).astype(np.int64)
    total = int(sizes.sum())
    items = _draw_items(m["items"], total, rng, guard, bool(m["timezone"]), m["scale"])
    for i in np.flatnonzero(rng.random(total) < float(m["null_elements"])):
        items[i] = None
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    arrays = [items[bounds[i] : bounds[i + 1]] for i in range(n)]
    if m.get("distinct"):
        rounds = 100 if m.get("shapes") else 10  # a 3x2 of six labels: a whole permutation to find
        arrays = [_distinct(a, m, rng, guard, rounds) if len(a) > 1 and _repeats(a) else a for a in arrays]
    if m.get("shapes"):  # rectangular: an element _distinct could not redraw is a NULL one
        arrays = [
            _shaped(a + [None] * (math.prod(sh) - len(a)), sh) if a else a
            for a, sh in zip(arrays, shapes, strict=True)
        ]
    return arrays


def _distinct(
    array: list[Any], m: dict[str, Any], rng: np.random.Generator, guard: SourceGuard | None, rounds: int = 10
) -> list[Any]:
    """The array with a repeated element drawn again (``rounds`` times), then left out: its
    elements distinct, as every source array's are."""
    for _ in range(rounds):
        seen: set[Any] = set()
        again = []
        for pos, e in enumerate(array):
            if e is None:
                continue
            key = _element_key(e)
            if key in seen:
                again.append(pos)
            seen.add(key)
        if not again:
            return array
        fresh_items = _draw_items(m["items"], len(again), rng, guard, bool(m["timezone"]), m["scale"])
        for pos, e in zip(again, fresh_items, strict=True):
            array[pos] = e
    kept: set[Any] = set()
    out = []
    for e in array:
        key = None if e is None else _element_key(e)
        if key is None or key not in kept:
            out.append(e)
            if key is not None:
                kept.add(key)
    return out


# -- ranges ----------------------------------------------------------------------------------------
_RANGE_KINDS = {"DATERANGE": "date", "TSRANGE": "ts", "TSTZRANGE": "tstz", "NUMRANGE": "num"}
_RANGE_TEXT = re.compile(r"^\s*([\[(])\s*\"?([^,\"]*)\"?\s*,\s*\"?([^\])\"]*)\"?\s*([\])])\s*$")


def _range_number(value: Any, kind: str) -> float | None:
    """A bound as a number: days for dates, epoch seconds for times (naive ones as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"infinity", "+infinity", "-infinity"}:  # a bound, not an open end
            return -np.inf if text.startswith("-") else np.inf
        try:
            if kind == "date":
                value = dt.date.fromisoformat(text)
            elif kind in {"ts", "tstz"}:
                value = dt.datetime.fromisoformat(text.replace(" ", "T"))
            else:
                return float(text)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal())
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _range_parts(value: Any, kind: str) -> tuple[bool, float | None, float | None] | None:
    """(empty, lower, upper) of a range (psycopg's Range, SQLAlchemy's, or its text); None if not one."""
    if isinstance(value, str):
        if value.strip().lower() == "empty":
            return True, None, None
        m = _RANGE_TEXT.match(value)
        if not m:
            return None
        return False, _range_number(m.group(2), kind), _range_number(m.group(3), kind)
    if getattr(value, "isempty", False) or getattr(value, "empty", False):
        return True, None, None
    if not hasattr(value, "lower"):
        return None
    return False, _range_number(value.lower, kind), _range_number(value.upper, kind)


def _fit_range(known: list[Any], native: str) -> dict[str, Any]:
    base = native.upper().split("(")[0].strip()
    kind = _RANGE_KINDS.get(base, "int")
    lows, lengths = [], []
    empty = open_low = open_high = inf_low = inf_high = seen = 0
    for v in known:
        parts = _range_parts(v, kind)
        if parts is None:
            continue
        seen += 1
        is_empty, lo, hi = parts
        if is_empty:
            empty += 1
            continue
        open_low += lo is None
        open_high += hi is None
        inf_low += lo is not None and np.isinf(lo)  # '-infinity': a bound a date or time can be
        inf_high += hi is not None and np.isinf(hi)
        if lo is not None and np.isfinite(lo):
            lows.append(lo)
        if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
            lengths.append(hi - lo)
    n = max(seen, 1)
    infinite = {"inf_low": round(inf_low / n, 4), "inf_high": round(inf_high / n, 4)}
    return {
        "kind": kind,
        "lower": quantiles(np.asarray(lows, dtype=float)),
        "length": quantiles(np.asarray(lengths, dtype=float)),
        "empty": round(empty / n, 4),
        "open_low": round(open_low / n, 4),
        "open_high": round(open_high / n, 4),
    } | {k: v for k, v in infinite.items() if v}  # an older model file has none


def _range_bound(x: float, kind: str, decimals: int) -> str:
    if np.isinf(x):
        return "-infinity" if x < 0 else "infinity"
    if kind == "date":
        return dt.date.fromordinal(max(1, min(round(x), dt.date.max.toordinal()))).isoformat()
    if kind in {"ts", "tstz"}:
        moment = dt.datetime.fromtimestamp(x, dt.UTC)
        return moment.isoformat(sep=" ") if kind == "tstz" else moment.replace(tzinfo=None).isoformat(sep=" ")
    if kind == "int":
        return str(round(x))
    return f"{x:.{max(decimals, 0)}f}"


def _draw_range(m: dict[str, Any], n: int, rng: np.random.Generator) -> list[str]:
    kind = m["kind"]
    lows = draw(m["lower"], rng.random(n), rng)
    lengths = np.maximum(draw(m["length"], rng.random(n), rng), 0.0)
    if kind in {"date", "int"}:  # whole steps, none empty by rounding ('[5,5)' is an empty range)
        lows, lengths = np.round(lows), np.maximum(np.round(lengths), 1.0)
    decimals = int(m["lower"].get("decimals", 0))
    u = rng.random((n, 3))
    out = []
    for i in range(n):
        if u[i, 0] < m["empty"]:
            out.append("empty")
            continue
        lo = _end(u[i, 1], m, "low", lows[i], kind, decimals)
        hi = _end(u[i, 2], m, "high", lows[i] + lengths[i], kind, decimals)
        out.append(f"[{lo},{hi})")
    return out


def _end(u: float, m: dict[str, Any], end: str, x: float, kind: str, decimals: int) -> str:
    """A range's open end ("", as often as in the source), its infinite one ('-infinity',
    'infinity', as often), else the bound ``x``."""
    if u < m[f"open_{end}"]:
        return ""
    if u < m[f"open_{end}"] + m.get(f"inf_{end}", 0.0):
        return "-infinity" if end == "low" else "infinity"
    return _range_bound(x, kind, decimals)


# -- multiranges (PostgreSQL 14+): ordered ranges apart -----------------------------------------------
_COMPONENT = re.compile(r"empty|[\[(][^\])]*[\])]", re.IGNORECASE)


def _multirange_value(value: Any) -> list[Any] | None:
    """A multirange's ranges: psycopg's Multirange (a list of Range), or its text '{[1,4),[9,12)}'."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.startswith("{") and text.endswith("}")):
            return None
        return _COMPONENT.findall(text[1:-1])
    try:
        return list(value)
    except TypeError:
        return None


def _fit_multirange(known: list[Any], native: str) -> dict[str, Any]:
    """How many ranges a value holds ('{}' none), the first one's lower bound, every range's length,
    the gaps between them, and the open or infinite ends (the first's lower, the last's upper)."""
    base = native.upper().split("(")[0].strip().replace("MULTIRANGE", "RANGE")
    kind = _RANGE_KINDS.get(base, "int")
    counts, firsts, lengths, gaps = [], [], [], []
    ends = {"open_low": 0, "open_high": 0, "inf_low": 0, "inf_high": 0}
    for v in known:
        ranges = _multirange_value(v)
        if ranges is None:
            continue
        parts = [p for p in (_range_parts(r, kind) for r in ranges) if p is not None and not p[0]]
        counts.append(len(parts))
        if not parts:
            continue
        lo, hi = parts[0][1], parts[-1][2]
        ends["open_low"] += lo is None
        ends["inf_low"] += lo is not None and np.isinf(lo)
        ends["open_high"] += hi is None
        ends["inf_high"] += hi is not None and np.isinf(hi)
        if lo is not None and np.isfinite(lo):
            firsts.append(lo)
        for (_, a, b), nxt in zip(parts, [*parts[1:], None], strict=True):
            if a is not None and b is not None and np.isfinite(a) and np.isfinite(b):
                lengths.append(b - a)
            if (
                nxt is not None
                and b is not None
                and nxt[1] is not None
                and np.isfinite(b)
                and np.isfinite(nxt[1])
            ):
                gaps.append(nxt[1] - b)
    filled = max(sum(1 for c in counts if c), 1)
    return {
        "kind": kind,
        "count": _fit_count(counts) if counts else {"levels": [[0, 1]]},
        "lower": quantiles(np.asarray(firsts, dtype=float)),
        "length": quantiles(np.asarray(lengths, dtype=float)),
        "gap": quantiles(np.asarray(gaps or [1.0], dtype=float)),
    } | {k: round(v / filled, 4) for k, v in ends.items()}


def _draw_multirange(m: dict[str, Any], n: int, rng: np.random.Generator) -> list[str]:
    """'{[a,b),[c,d)}': ranges in order, a gap apart (PostgreSQL joins any that touch)."""
    kind = m["kind"]
    counts = np.clip(np.rint(np.asarray(_draw_count(m["count"], n, rng), dtype=float)), 0, 1000).astype(int)
    total = int(counts.sum())
    lows = draw(m["lower"], rng.random(n), rng)
    lengths = np.maximum(draw(m["length"], rng.random(max(total, 1)), rng), 0.0)
    gaps = np.maximum(draw(m["gap"], rng.random(max(total, 1)), rng), 0.0)
    if kind in {"date", "int"}:  # whole steps: no empty range, none touching the next
        lows, lengths, gaps = (
            np.round(lows),
            np.maximum(np.round(lengths), 1.0),
            np.maximum(np.round(gaps), 1.0),
        )
    decimals = int(m["lower"].get("decimals", 0))
    u = rng.random((n, 2))
    out, used = [], 0
    for i in range(n):
        parts, at = [], float(lows[i])
        for j in range(counts[i]):
            end = at + float(lengths[used])
            lo = _end(u[i, 0] if j == 0 else 1.0, m, "low", at, kind, decimals)
            hi = _end(u[i, 1] if j == counts[i] - 1 else 1.0, m, "high", end, kind, decimals)
            parts.append(f"[{lo},{hi})")
            at = end + float(gaps[used])
            used += 1
        out.append("{" + ",".join(parts) + "}")
    return out


_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
RANGE_TOLERANCE = 0.001  # share of bounded rows a bound may differ from its column on (exact.TOLERANCE)
RANGE_SUPPORT = 20  # rows a bound must equal its column on (exact.MIN_SUPPORT)


def _bound_units(values: pd.Series, kind: str, table: Any, column: str) -> np.ndarray | None:
    """A column of the row in a range's bound units (the date's ordinal for a daterange, epoch
    seconds for a timestamp range, the number for a number range); None if it cannot be one."""
    from relsynth.model.exact_fit import seconds

    col = table.column(column)
    if kind in {"date", "ts", "tstz"}:
        if col.kind is not Kind.DATETIME or col.type.name == "time":
            return None
        secs = seconds(values, col.type.name in STRING_TYPES)
        return np.floor(secs / 86400.0) + _EPOCH_DAY if kind == "date" else secs
    if col.kind is not Kind.NUMERICAL:
        return None
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def range_sources(
    state: dict[str, Any], values: pd.Series, frame: pd.DataFrame, table: Any, name: str
) -> None:
    """A range whose bounds are two columns of its row (stay = [admittime::date, dischtime::date
    + 1), a tstzrange [intime, outtime)): each bound's column and step (0, or one day / one for a
    discrete range's inclusive end made exclusive) in state['from'], so that it is derived from
    the row's own values when sampled, not drawn apart from them (0 of 1,626 ICU stays matched).
    Only where every bounded row but TOLERANCE of them agrees, on RANGE_SUPPORT rows at least."""
    kind = state["kind"]
    parts = [_range_parts(v, kind) if v is not None and v == v else None for v in values.tolist()]
    lows = np.array([p[1] if p and not p[0] and p[1] is not None else np.nan for p in parts], dtype=float)
    highs = np.array([p[2] if p and not p[0] and p[2] is not None else np.nan for p in parts], dtype=float)
    lows[np.isinf(lows)], highs[np.isinf(highs)] = np.nan, np.nan  # 'infinity' is no column's value
    steps = (0.0, 1.0) if kind in {"date", "int"} else (0.0,)
    found: dict[str, list[Any]] = {}
    for end, bound in (("lower", lows), ("upper", highs)):
        known = ~np.isnan(bound)
        if int(known.sum()) < RANGE_SUPPORT:
            continue
        for column in table.columns:
            c = column.name
            if c == name or c not in frame or column.computed or end in found:
                continue
            x = _bound_units(frame[c].reset_index(drop=True), kind, table, c)
            if x is None:
                continue
            both = known & ~np.isnan(x)
            if (
                int(both.sum()) < RANGE_SUPPORT
                or int((known & np.isnan(x)).sum()) > RANGE_TOLERANCE * known.sum()
            ):
                continue
            for step in steps:
                wrong = np.abs(bound[both] - x[both] - step) > 1e-6 * np.maximum(np.abs(bound[both]), 1.0)
                if int(wrong.sum()) <= RANGE_TOLERANCE * int(both.sum()):
                    found[end] = [c, step]
                    break
            if end not in found and kind == "date":
                # The date of a time in its own zone, which a timestamptz no longer holds (admitted
                # 23:00-08 is the next day in UTC): within a day of it on every row, the commonest
                # step on most of them. Derived as that step: a day off at most, as in the source.
                gap = bound[both] - x[both]
                values_, counts = np.unique(gap, return_counts=True)
                step = float(values_[np.argmax(counts)])
                near = np.abs(gap - step) <= 1
                if (
                    step in steps
                    and counts.max() >= 0.5 * len(gap)
                    and (~near).sum() <= RANGE_TOLERANCE * len(gap)
                ):
                    found[end] = [c, step]
    if found:
        state["from"] = found


def derive_ranges(tm: Any, table: Any, frame: pd.DataFrame) -> None:
    """Ranges whose bounds are columns of the row (range_sources): those bounds set from the row's
    values as sampled (after they were settled); an empty, NULL or open range stays as drawn."""
    for spec in tm.columns:
        native = spec.constant if spec.how == "native" and isinstance(spec.constant, dict) else None
        state = native.get("native") if native else None
        if not state or state.get("family") != "range" or not state["range"].get("from"):
            continue
        m = state["range"]
        kind, sources = m["kind"], m["from"]
        if any(src[0] not in frame for src in sources.values()) or spec.name not in frame:
            continue
        units = {end: _bound_units(frame[src[0]], kind, table, src[0]) for end, src in sources.items()}
        decimals = int(m["lower"].get("decimals", 0))
        out = frame[spec.name].to_numpy(dtype=object).copy()
        for i, v in enumerate(out):
            parts = _range_parts(v, kind) if v is not None and v == v else None
            if parts is None or parts[0]:
                continue
            ends = {"lower": parts[1], "upper": parts[2]}
            for end, src in sources.items():
                x, drawn = units[end][i], ends[end]  # type: ignore[index]
                if drawn is not None and np.isfinite(drawn) and not np.isnan(x):  # 'infinity' stays
                    ends[end] = float(x) + float(src[1])
            lo, hi = ends["lower"], ends["upper"]
            if lo is not None and hi is not None and hi <= lo:
                continue  # an empty range from a row whose end is not after its start: drawn
            lo_text = "" if lo is None else _range_bound(lo, kind, decimals)
            hi_text = "" if hi is None else _range_bound(hi, kind, decimals)
            out[i] = f"[{lo_text},{hi_text})"
        frame[spec.name] = out


# -- the model -------------------------------------------------------------------------------------
def fit(t: SqlType, values: pd.Series, people: np.ndarray | None = None, k: int = 2) -> dict[str, Any]:
    """The state of a column's generator (plain JSON), from its non-NULL source values.
    ``people``: each row's person (or parent) position, -1 for none; ``k``: a JSON key is kept
    only if at least k documents and k people hold it (one member's allergy note on six
    documents is theirs)."""
    family = native_family(t)
    assert family is not None, "only types with a native family are fitted here"
    isknown = [v is not None and not (isinstance(v, float) and v != v) for v in values.tolist()]
    known = [v for v, ok in zip(values.tolist(), isknown, strict=True) if ok]
    who = None if people is None else np.asarray(people)[np.asarray(isknown, dtype=bool)]
    state: dict[str, Any] = {"family": family}
    if family == "pg_point":
        parsed = [geometry.numbers(str(v)) for v in known]
        xy = [n[:2] if len(n) >= 2 else [np.nan, np.nan] for n in parsed]
        state["points"] = geometry.fit_points(np.asarray(xy, dtype=float).reshape(-1, 2), who, k)
    elif family.startswith("pg_") or family == "wkt":
        declared = (t.native or "GEOMETRY").upper().split("(")[0].strip()
        texts = [v.decode() if isinstance(v, bytes) else str(v) for v in known]
        state["shapes"] = geometry.fit_shapes(family, texts, declared, who, k)
        state["declared"] = declared
    elif family in {"inet", "inet4", "inet6", "cidr"}:
        state["inet"] = _fit_inet(known, family)
    elif family == "bits":
        state["bits"] = _fit_bits(known, t.native or "")
    elif family == "interval":
        seconds = [v.total_seconds() if isinstance(v, dt.timedelta) else float("nan") for v in known]
        state["seconds"] = quantiles(np.asarray(seconds, dtype=float))
    elif family == "range":
        state["range"] = _fit_range(known, t.native or "")
    elif family == "multirange":
        state["multirange"] = _fit_multirange(known, t.native or "")
    elif family == "json":
        state["json"] = _fit_json(known, who, k)
    elif family == "array":
        state["array"] = _fit_array(t, known, who, k)
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
    elif family in {"inet", "inet4", "inet6", "cidr"}:
        values = _draw_inet(m["inet"], family, n, rng, unique)
    elif family in {"macaddr", "macaddr8"}:
        values = _draw_mac(n, 8 if family == "macaddr8" else 6, rng)
    elif family == "bits":
        values = _draw_bits(m["bits"], n, rng)
    elif family == "interval":
        q = m["seconds"]
        values = [dt.timedelta(seconds=float(s)) for s in draw(q, rng.random(n), rng)]
    elif family == "array":
        values = _draw_array(m["array"], n, rng, guard)
    elif family == "range":
        values = _draw_range(m["range"], n, rng)
    elif family == "multirange":
        values = _draw_multirange(m["multirange"], n, rng)
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
