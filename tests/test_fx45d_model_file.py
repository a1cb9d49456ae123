"""A model file edited after `relsynth fit -o`: NaN numbers in model.json, or arrays.npz's arrays
emptied or set to NaN. Sampling it failed with an internal error (IndexError, ValueError: a
traceback to report) or drew NaN rows; it is refused on load in one line naming what is wrong."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from relsynth.cli import main


def _model(tmp_path: Path) -> Path:
    db = tmp_path / "m.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE cust (id INTEGER PRIMARY KEY, city TEXT, score REAL)")
        c.execute(
            "CREATE TABLE ord (id INTEGER PRIMARY KEY, cust_id INTEGER REFERENCES cust(id), amount REAL)"
        )
        c.executemany("INSERT INTO cust VALUES (?, ?, ?)", [(i, "abc"[i % 3], i * 1.7) for i in range(1, 61)])
        c.executemany("INSERT INTO ord VALUES (?, ?, ?)", [(i, 1 + i % 60, i * 2.3) for i in range(1, 151)])
    path = tmp_path / "m.rsm"
    done = CliRunner().invoke(main, ["fit", f"sqlite:///{db}", "-o", str(path), "-q"])
    assert done.exit_code == 0, done.output
    return path


def _edited(path: Path, out: Path, *, nan_json: bool = False, arrays: str = "") -> Path:
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("model.json"))
        npz = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        data = {k: npz[k] for k in npz.files}
    if nan_json:
        for table in doc["tables"].values():
            for column in table["columns"]:
                column["null_share"] = float("nan")
    for k, v in data.items():
        if arrays == "empty":
            data[k] = v[:0] if v.ndim else v
        elif arrays.endswith("nan") and v.dtype.kind == "f" and k.endswith(arrays[:-4]):
            data[k] = np.full(v.shape, np.nan)
    buf = io.BytesIO()
    np.savez(buf, **data)
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("model.json", json.dumps(doc))
        z.writestr("arrays.npz", buf.getvalue())
    return out


@pytest.mark.parametrize(
    "edit, says",
    [
        ({"nan_json": True}, "holds NaN where relsynth writes numbers"),
        ({"arrays": "empty"}, "correlation matrix"),
        ({"arrays": "knots nan"}, "marginal"),
        ({"arrays": "cum nan"}, "marginal"),
        ({"arrays": "corr nan"}, "correlation matrix"),
    ],
)
def test_an_edited_model_file_is_refused_in_one_line(tmp_path, edit, says) -> None:
    path = _edited(_model(tmp_path), tmp_path / "edited.rsm", **edit)
    done = CliRunner().invoke(main, ["sample", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 1, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("FAILED:") and "damaged relsynth model file" in lines[0]
    assert says in lines[0] and "Traceback" not in done.output


def test_the_unedited_model_file_still_samples(tmp_path) -> None:
    path = _edited(_model(tmp_path), tmp_path / "same.rsm")  # rewritten, nothing changed
    done = CliRunner().invoke(main, ["sample", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 0, done.output
