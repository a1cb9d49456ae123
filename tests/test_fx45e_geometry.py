"""Attack a45b, finding 0: a spatial column's coordinates were stored one knot per source row, with
the source's exact bounding box, in the model file (108 of a 60-row POINT column's 120 coordinates),
and synthetic points carried exact source coordinates (14 of 60 x's). Now each coordinate is learned
as a DOUBLE is: a knot per K values, the ends pulled in and moved off any one row's value."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.model import natives
from relsynth.schema import SqlType
from tests.conftest import run_sql

ROWS = 60


@pytest.fixture
def pg(pg_db: Callable[[], str]) -> Callable[[], str]:
    return pg_db


@pytest.fixture
def maria(mysql_db: Callable[[], str]) -> Callable[[], str]:
    return mysql_db


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _coordinates(rng: random.Random) -> list[tuple[float, float]]:
    return [(round(rng.uniform(-10, 30), 5), round(rng.uniform(35, 60), 5)) for _ in range(ROWS)]


def _polygon(x: float, y: float, rng: random.Random) -> list[tuple[float, float]]:
    """A triangle near (x, y), closed, with coordinates of 5 decimals."""
    a = (round(x + rng.uniform(0.1, 1), 5), y)
    b = (x, round(y + rng.uniform(0.1, 1), 5))
    return [(x, y), a, b, (x, y)]


def _wkt_polygon(ring: list[tuple[float, float]]) -> str:
    return "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))"


def _floats(doc: Any) -> set[float]:
    """Every number in a model's JSON."""
    if isinstance(doc, dict):
        return {v for item in doc.values() for v in _floats(item)}
    if isinstance(doc, list):
        return {v for item in doc for v in _floats(item)}
    if isinstance(doc, int | float) and not isinstance(doc, bool):
        return {float(doc)}
    return set()


def _model_numbers(path: Path) -> set[float]:
    """Every number in a model file, JSON and arrays."""
    with zipfile.ZipFile(path) as z:
        found = _floats(json.loads(z.read("model.json")))
        arrays = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        for name in arrays.files:
            if arrays[name].dtype.kind == "f":
                found |= {float(v) for v in arrays[name].ravel()}
    return found


def _output_numbers(values: pd.Series) -> set[float]:
    return {float(v) for text in values.dropna().astype(str) for v in _NUMBER.findall(text)}


def _learned_knots(state: dict[str, Any]) -> list[float]:
    return [v for q in (state["x"], state["y"]) for v in q["knots"]]


def test_points_and_shapes_store_a_knot_per_k_values_and_no_source_coordinate() -> None:
    """No database: the fitted state of a POINT (WKT and PostgreSQL's) and a POLYGON column."""
    rng = random.Random(3)
    xy = _coordinates(rng)
    source = {v for p in xy for v in p}
    wkt_points = pd.Series([f"POINT({x} {y})" for x, y in xy])
    pg_points = pd.Series([f"({x},{y})" for x, y in xy])
    rings = [_polygon(x, y, rng) for x, y in xy]
    polygons = pd.Series([_wkt_polygon(r) for r in rings])
    vertices = {v for r in rings for p in r for v in p}
    point = natives.fit(SqlType("geometry", native="POINT"), wkt_points, None, 5)["native"]
    pg = natives.fit(SqlType("other", native="point"), pg_points, None, 5)["native"]
    shape = natives.fit(SqlType("geometry", native="POLYGON"), polygons, None, 5)["native"]
    for state in (point["shapes"]["centres"], pg["points"]):
        assert len(state["x"]["knots"]) <= ROWS // 5 + 1, "a knot per K values, not one per row"
        assert not set(_learned_knots(state)) & source
    assert not _floats(point) & source and not _floats(pg) & source
    assert not _floats(shape) & vertices, "no vertex (the bounding box's sides) in the model"
    out = np.random.default_rng(4)
    for state in (point, pg, shape):
        drawn = _output_numbers(pd.Series(natives.generate({"native": state}, 500, out)))
        assert not drawn & (vertices if state is shape else source)


def _fit_and_sample(url: str, tmp_path: Path) -> tuple[set[float], dict[str, pd.DataFrame]]:
    """Every number of the model file, and the tables sampled from it."""
    path = tmp_path / "m.rsm"
    relsynth.fit(url, seed=4).save(path)
    return _model_numbers(path), relsynth.sample(path, seed=4)


def test_mariadb_point_and_polygon_coordinates_stay_out_of_model_and_output(
    maria: Callable[[], str], tmp_path: Path
) -> None:
    url = maria()
    rng = random.Random(3)
    xy = _coordinates(rng)
    rings = [_polygon(x, y, rng) for x, y in xy]
    run_sql(url, "CREATE TABLE store (id INT PRIMARY KEY, loc POINT NOT NULL, area POLYGON NOT NULL);")
    values = ", ".join(
        f"({i}, ST_GeomFromText('POINT({x} {y})'), ST_GeomFromText('{_wkt_polygon(r)}'))"
        for i, ((x, y), r) in enumerate(zip(xy, rings, strict=True), 1)
    )
    run_sql(url, f"INSERT INTO store VALUES {values};")
    source = {v for r in rings for p in r for v in p}  # the points are the rings' first vertices
    stored, frames = _fit_and_sample(url, tmp_path)
    assert not stored & source, sorted(stored & source)[:5]
    for column in ("loc", "area"):
        drawn = _output_numbers(frames["store"][column])
        assert len(drawn) > ROWS and not drawn & source, sorted(drawn & source)[:5]


def test_postgresql_point_coordinates_stay_out_of_model_and_output(
    pg: Callable[[], str], tmp_path: Path
) -> None:
    url = pg()
    xy = _coordinates(random.Random(3))
    run_sql(url, "CREATE TABLE store (id INTEGER PRIMARY KEY, loc POINT NOT NULL);")
    values = ", ".join(f"({i}, point({x}, {y}))" for i, (x, y) in enumerate(xy, 1))
    run_sql(url, f"INSERT INTO store VALUES {values};")
    source = {v for p in xy for v in p}
    stored, frames = _fit_and_sample(url, tmp_path)
    assert not stored & source, sorted(stored & source)[:5]
    drawn = _output_numbers(frames["store"]["loc"])
    assert len(drawn) > ROWS and not drawn & source, sorted(drawn & source)[:5]


@pytest.mark.parametrize("k", [1, 5])
def test_a_point_per_person_counts_once(k: int) -> None:
    """One person's forty visits at one address are one value of the x's quantiles, as a DOUBLE's."""
    xy = [(float(i) + 0.5, float(i) + 0.25) for i in range(20)] + [(100.125, 100.125)] * 40
    people = np.array(list(range(20)) + [99] * 40)
    texts = pd.Series([f"({x},{y})" for x, y in xy])
    state = natives.fit(SqlType("other", native="point"), texts, people, k)["native"]["points"]
    assert (100.125 in state["x"]["knots"]) is (k == 1)


def _pg_shape(native: str, rng: random.Random) -> str:
    x, y = round(rng.uniform(-10, 30), 5), round(rng.uniform(35, 60), 5)
    w, h = round(rng.uniform(0.1, 2), 5), round(rng.uniform(0.1, 2), 5)
    if native == "circle":
        return f"<({x},{y}),{w}>"
    corners = [(x, y), (round(x + w, 5), y), (round(x + w, 5), round(y + h, 5))]
    pairs = ",".join(f"({a},{b})" for a, b in corners[: 2 if native == "lseg" else 3])
    return {"box": f"({x},{y}),({x + w:.5f},{y + h:.5f})", "lseg": f"[{pairs}]"}.get(native, f"({pairs})")


@pytest.mark.parametrize("native", ["box", "circle", "lseg", "path", "polygon"])
def test_postgresql_shapes_store_and_draw_no_source_number(native: str) -> None:
    """Boxes, circles (their radius too), segments, paths and polygons: no source number is in
    the fitted state (the bounding box was the source's exact extremes), none in the output."""
    rng = random.Random(7)
    texts = pd.Series([_pg_shape(native, rng) for _ in range(ROWS)])
    source = _output_numbers(texts)
    state = natives.fit(SqlType("other", native=native), texts, None, 5)
    assert not _floats(state) & source, sorted(_floats(state) & source)[:5]
    drawn = _output_numbers(pd.Series(natives.generate(state, 500, np.random.default_rng(2))))
    assert not drawn & source, sorted(drawn & source)[:5]
