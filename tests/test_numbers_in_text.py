"""A text column holding numbers in some rows and words in others, with no number column beside it
(Synthea's observations.value: '101.8' for a body height, 'Never smoked tobacco (finding)' for a
survey answer; the row's code says which): the numbers are drawn per code as the source spells
them, the words are drawn as before (model/text_numbers.py)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.model import text_numbers as tnum
from relsynth.model.spec import Model
from tests.conftest import EVERY_DATABASE, fetch, run_sql

WORDS = ["Never smoked tobacco (finding)", "Former smoker (finding)", "Current every day smoker"]
# One row each, in GLU's upper tail: held by one person, so no model file may hold them.
RARE = [f"{140.0 + 1.3 * i:.1f}" for i in range(30)]


def _lab(url: str, n_patients: int = 300) -> None:
    rng = np.random.default_rng(11)
    rows = [
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, sex VARCHAR(1) NOT NULL);",
        "CREATE TABLE lab (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patient(id),"
        " code VARCHAR(8) NOT NULL, value VARCHAR(40) NOT NULL);",
    ]
    rows += [f"INSERT INTO patient VALUES ({p}, '{'FM'[p % 2]}');" for p in range(1, n_patients + 1)]
    n = 0
    rare = list(RARE)
    for p in range(1, n_patients + 1):
        for _ in range(int(rng.integers(4, 12))):
            n += 1
            code = str(rng.choice(["GLU", "HGB", "SMOKE"], p=[0.4, 0.35, 0.25]))
            if code == "SMOKE":
                value = str(rng.choice(WORDS, p=[0.6, 0.3, 0.1]))
            elif code == "GLU" and rare and p % 10 == 0:
                value = rare.pop()
            else:
                text = f"{rng.normal(100, 15) if code == 'GLU' else rng.normal(14, 1.5):.1f}"
                while text in RARE:
                    text = f"{rng.normal(100, 15):.1f}"
                value = text
            rows.append(f"INSERT INTO lab VALUES ({n}, {p}, '{code}', '{value}');")
    assert not rare
    run_sql(url, "\n".join(rows))


def test_numbers_in_a_text_are_found_unless_categories_keep_them() -> None:
    rng = np.random.default_rng(0)
    numbers = [f"{v:.1f}" for v in rng.normal(100, 15, 300)]
    values = pd.Series(numbers + ["No"] * 200, dtype=object)
    people = np.arange(500) // 2
    found = tnum.find(pd.DataFrame({"v": values}), ["v"], [], people, 5)
    assert [c for c, _ in found] == ["v"] and int(found[0][1].sum()) == 300
    # Codes that happen to be numbers, each held by many people: categories keep them.
    codes = pd.Series([str(250 + i % 12) for i in range(500)], dtype=object)
    assert tnum.find(pd.DataFrame({"v": codes}), ["v"], [], people, 5) == []
    # SNOMED codes beside their description (each description fixes its code), or numbers alone
    # (a column of codes more likely than of results): no numbers to draw.
    names = [f"finding {i}" for i in range(150)]
    described = pd.DataFrame(
        {
            "code": [str(10509002 + 7919 * (i % 150)) for i in range(400)] + ["Unknown"] * 100,
            "description": [names[i % 150] for i in range(400)] + ["unknown"] * 100,
        }
    )
    assert tnum.find(described, ["code"], [], people, 5, ["description"]) == []
    # Whole numbers of one width, or digit strings with a leading zero among them: codes (a
    # postcode held by one patient, drawn as a number, came back as itself).
    assert tnum.find(described, ["code"], [], people, 5) == []
    postcodes = pd.Series([f"{v:05d}" for v in rng.integers(0, 99_999, 400)] + ["unknown"] * 100)
    assert tnum.find(pd.DataFrame({"v": postcodes}), ["v"], [], people, 5) == []
    alone = pd.DataFrame({"v": [f"{v:.1f}" for v in rng.normal(100, 15, 500)]})
    assert tnum.find(alone, ["v"], [], people, 5) == []
    # '007', '1e3', ' 5': not a number as a database spells one.
    assert list(tnum.number_texts(pd.Series(["007", "1e3", " 5", "-0.5", "12", None]))) == [
        False,
        False,
        False,
        True,
        True,
        False,
    ]


def test_each_level_keeps_its_own_spelling() -> None:
    assert tnum.spelling_of(["101.8", "3.0"]) == "fixed:1"
    assert tnum.spelling_of(["64", "7.6", "12.25"]) == "plain"
    assert tnum.spelling_of(["64", "7.0", "12.5", "3.5"]) == "fixed:1"  # most have one decimal


def _read_model(path: Path) -> tuple[str, list[np.ndarray]]:
    """model.json's text and every array of the file, read as store.py writes them."""
    with zipfile.ZipFile(path) as z:
        text = z.read("model.json").decode("utf-8")
        npz = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        arrays = [npz[k] for k in npz.files]
    json.loads(text)
    return text, arrays


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_numbers_in_a_text_are_drawn_per_code(db: str, request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _lab(source)
    relsynth.synthesize(source, target, seed=1)
    out = pd.DataFrame(fetch(target, "SELECT code, value FROM lab"), columns=["code", "value"])
    assert not out["value"].str.contains("\x00|relsynth", regex=True).any()  # no placeholder written
    src = pd.DataFrame(fetch(source, "SELECT code, value FROM lab"), columns=["code", "value"])
    for code, mean, sd in (("GLU", 100.0, 15.0), ("HGB", 14.0, 1.5)):
        real = src.loc[src["code"] == code, "value"].astype(float)
        assert abs(real.mean() - mean) < sd  # the source is what it was made as
        texts = out.loc[out["code"] == code, "value"]
        assert len(texts) > 200  # as categories: 157 GLU rows of 889 (its numbers withheld)
        assert texts.str.fullmatch(r"-?\d+\.\d").all()  # one decimal, as the source spells them
        # Numbers, not a handful of common ones.
        assert texts.nunique() > 0.3 * real.nunique()
        x = texts.astype(float)
        assert abs(x.mean() - real.mean()) < 0.45 * sd
        assert 0.6 * real.std() < x.std() < 1.5 * real.std()
    smoke = out.loc[out["code"] == "SMOKE", "value"]
    assert len(smoke) > 100 and set(smoke) <= set(WORDS)
    assert (smoke == WORDS[0]).mean() > 0.4


def test_the_model_says_so_and_holds_no_rare_number(sqlite_db: Callable[[], str], tmp_path: Path) -> None:
    source = sqlite_db()
    _lab(source)
    model = relsynth.fit(source, seed=0)
    [tn] = model.tables["lab"].text_numbers
    assert (tn.column, tn.given, sorted(tn.levels), tn.formats) == (
        "value",
        "code",
        ["GLU", "HGB"],
        ["fixed:1"] * 2,
    )
    said = "lab: value holds numbers (77%) drawn per code, spelled as the source (derived)"
    assert said in model.relations_summary()  # what `relsynth inspect --relations` lists
    # The model file holds no number only one person had, as text or as a knot.
    path = tmp_path / "lab.relsynth"
    model.save(path)
    text, arrays = _read_model(path)
    assert not [v for v in RARE if f'"{v}"' in text]
    floats = np.concatenate([a.ravel() for a in arrays if a.dtype.kind == "f"])
    assert not np.isin(np.array([float(v) for v in RARE]), floats).any()
    loaded = Model.load(path)  # and sampled from as it was saved
    assert loaded.tables["lab"].text_numbers[0].levels == tn.levels
    drawn = relsynth.sample(loaded, seed=3)["lab"]
    glu = drawn.loc[drawn["code"] == "GLU", "value"]
    assert glu.str.fullmatch(r"-?\d+\.\d").all() and glu.nunique() > 100
