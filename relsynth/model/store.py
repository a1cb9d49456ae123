"""Model files: a zip holding model.json and arrays.npz. No pickle anywhere, so a model file from
someone else can be loaded safely: JSON is parsed, arrays are read with allow_pickle=False.

The file holds real values from the source (category levels, value quantiles, reference tables):
treat it like the data it was fitted on.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from relsynth import __version__
from relsynth.errors import ModelError
from relsynth.graph import plan as make_plan
from relsynth.jsontags import jsonable, unjson
from relsynth.model.keys import Forest
from relsynth.model.pii import PiiModel
from relsynth.model.relations import Aggregate, Conditional, Dependency, Numbering, Order, Repeat
from relsynth.model.spec import ColumnSpec, Dim, KeySpec, Model, TableModel
from relsynth.model.text import Shapes, SourceGuard, Vocabulary
from relsynth.schema import Schema
from relsynth.transform import encoder_from_state

MODEL_FORMAT = "relsynth.model"
MODEL_VERSION = 1


class _Arrays:
    def __init__(self, data: dict[str, np.ndarray] | None = None) -> None:
        self.data = data if data is not None else {}

    def put(self, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, str]:
        keys = {}
        for name, arr in arrays.items():
            key = f"{prefix}/{name}"
            self.data[key] = np.asarray(arr)
            keys[name] = key
        return keys

    def get(self, keys: dict[str, str]) -> dict[str, np.ndarray]:
        return {name: self.data[key] for name, key in keys.items()}


def _encoder_out(enc: Any, prefix: str, arrays: _Arrays) -> dict[str, Any]:
    state, arrs = enc.to_state()
    return {"state": state, "arrays": arrays.put(prefix, arrs)}


def _encoder_in(data: dict[str, Any], arrays: _Arrays) -> Any:
    return encoder_from_state(data["state"], arrays.get(data["arrays"]))


def _spec_out(s: ColumnSpec, prefix: str, arrays: _Arrays) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": s.name,
        "how": s.how,
        "null_share": s.null_share,
        "unique": s.unique,
        "determinant": s.determinant,
        "id_kind": s.id_kind,
        "constant": jsonable(s.constant),
        "decimals": s.decimals,
    }
    if s.mapping is not None:
        out["mapping"] = [[jsonable(a), jsonable(b)] for a, b in s.mapping]
    if s.table is not None:
        out["table"] = {
            "pairs": [[jsonable(a), jsonable(b), k] for a, b, k in s.table["pairs"]],
            "marginal": [[jsonable(b), k] for b, k in s.table["marginal"]],
        }
    if s.null_mapping is not None:
        out["null_determinant"] = s.null_determinant
        out["null_mapping"] = [[jsonable(a), bool(b)] for a, b in s.null_mapping]
    if s.shapes is not None:
        out["shapes"] = {"templates": s.shapes.templates, "weights": s.shapes.weights}
    if s.vocabulary is not None:
        v = s.vocabulary
        out["vocabulary"] = {
            "words": v.words,
            "weights": v.weights,
            "lengths": v.lengths,
            "capitalized": v.capitalized,
            "endings": v.endings,
        }
    if s.guard is not None:
        out["guard"] = {"salt": s.guard.salt.hex(), "arrays": arrays.put(prefix, {"hashes": s.guard.hashes})}
    if s.pii is not None:
        out["pii"] = s.pii.to_state()
    return out


def _spec_in(d: dict[str, Any], arrays: _Arrays) -> ColumnSpec:
    s = ColumnSpec(d["name"], d["how"], d["null_share"], d["unique"])
    s.determinant, s.id_kind, s.decimals = d["determinant"], d["id_kind"], d["decimals"]
    s.constant = unjson(d["constant"])
    if "mapping" in d:
        s.mapping = [[unjson(a), unjson(b)] for a, b in d["mapping"]]
    if "table" in d:
        s.table = {
            "pairs": [[unjson(a), unjson(b), k] for a, b, k in d["table"]["pairs"]],
            "marginal": [[unjson(b), k] for b, k in d["table"]["marginal"]],
        }
    if "null_mapping" in d:
        s.null_determinant = d["null_determinant"]
        s.null_mapping = [[unjson(a), b] for a, b in d["null_mapping"]]
    if "shapes" in d:
        s.shapes = Shapes(d["shapes"]["templates"], d["shapes"]["weights"])
    if "vocabulary" in d:
        s.vocabulary = Vocabulary(**d["vocabulary"])
    if "guard" in d:
        s.guard = SourceGuard(bytes.fromhex(d["guard"]["salt"]), arrays.get(d["guard"]["arrays"])["hashes"])
    if "pii" in d:
        s.pii = PiiModel.from_state(d["pii"])
    return s


def _table_out(t: TableModel, prefix: str, arrays: _Arrays) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": t.name,
        "role": t.role,
        "n_rows": t.n_rows,
        "n_own": t.n_own,
        "null_context": t.null_context,
        "columns": [_spec_out(c, f"{prefix}/col{i}", arrays) for i, c in enumerate(t.columns)],
        "dims": [
            {
                "name": d.name,
                "role": d.role,
                "column": d.column,
                "child": d.child,
                "fk": d.fk,
                "target": d.target,
                "encoder": _encoder_out(d.encoder, f"{prefix}/dim{i}", arrays),
            }
            for i, d in enumerate(t.dims)
        ],
        "matrices": arrays.put(prefix, {"corr": t.corr, "within_chol": t.within_chol}),
        "key": {
            "columns": list(t.key.columns),
            "kind": t.key.kind,
            "start": t.key.start,
            "shapes": None
            if t.key.shapes is None
            else {"templates": t.key.shapes.templates, "weights": t.key.shapes.weights},
        },
        "dependencies": [[d.determinant, d.target] for d in t.dependencies],
        "conditionals": [[c.determinant, c.target, c.strength] for c in t.conditionals],
        "anchors": {c: [o.column, o.base, o.op, o.fk] for c, o in t.anchors.items()},
        "orders": [[o.column, o.base, o.op, o.fk] for o in t.orders],
        "repeats": [[r.column, r.fk, r.parent_column] for r in t.repeats],
        "aggregates": [[a.column, a.child, a.fk, list(a.terms)] for a in t.aggregates],
        "numbering": [[nb.column, nb.start] for nb in t.numbering],
        "forests": {k: f.to_state() for k, f in t.forests.items()},
        "fk_null": t.fk_null,
        "key_matches": {k: [list(p) for p in v] for k, v in t.key_matches.items()},
        "record_columns": t.record_columns,
        "record_nudge": t.record_nudge,
    }
    if t.record_guard is not None:
        out["record_guard"] = {
            "salt": t.record_guard.salt.hex(),
            "arrays": arrays.put(f"{prefix}/records", {"hashes": t.record_guard.hashes}),
        }
    if t.reference is not None:
        ref = {}
        for i, (col, values) in enumerate(t.reference.items()):
            mask = np.array([v is None for v in values], dtype=bool)
            text = np.array(["" if v is None else v for v in values], dtype=str)
            ref[col] = arrays.put(f"{prefix}/ref{i}", {"values": text, "null": mask})
        out["reference"] = ref
    return out


def _table_in(d: dict[str, Any], arrays: _Arrays) -> TableModel:
    mats = arrays.get(d["matrices"])
    key = d["key"]
    t = TableModel(
        name=d["name"],
        role=d["role"],
        n_rows=d["n_rows"],
        columns=[_spec_in(c, arrays) for c in d["columns"]],
        dims=[
            Dim(
                x["name"],
                x["role"],
                _encoder_in(x["encoder"], arrays),
                x["column"],
                x["child"],
                x["fk"],
                x["target"],
            )
            for x in d["dims"]
        ],
        corr=mats["corr"],
        n_own=d["n_own"],
        within_chol=mats["within_chol"],
        null_context=d["null_context"],
        key=KeySpec(
            tuple(key["columns"]),
            key["kind"],
            key["start"],
            None if key["shapes"] is None else Shapes(key["shapes"]["templates"], key["shapes"]["weights"]),
        ),
        dependencies=[Dependency(a, b) for a, b in d["dependencies"]],
        conditionals=[Conditional(a, b, u) for a, b, u in d["conditionals"]],
        anchors={c: Order(*o) for c, o in d["anchors"].items()},
        orders=[Order(*o) for o in d["orders"]],
        repeats=[Repeat(*r) for r in d["repeats"]],
        aggregates=[Aggregate(a, b, c, tuple(terms)) for a, b, c, terms in d["aggregates"]],
        numbering=[Numbering(c, s) for c, s in d["numbering"]],
        forests={k: Forest.from_state(f) for k, f in d["forests"].items()},
        fk_null=d["fk_null"],
        key_matches={k: [tuple(p) for p in v] for k, v in d["key_matches"].items()},
    )
    t.record_columns = d.get("record_columns", [])
    t.record_nudge = d.get("record_nudge")
    if "record_guard" in d:
        t.record_guard = SourceGuard(
            bytes.fromhex(d["record_guard"]["salt"]), arrays.get(d["record_guard"]["arrays"])["hashes"]
        )
    if "reference" in d:
        t.reference = {}
        for col, keys in d["reference"].items():
            a = arrays.get(keys)
            t.reference[col] = [
                None if null else str(v)
                for v, null in zip(a["values"].tolist(), a["null"].tolist(), strict=True)
            ]
    return t


def save(model: Model, path: str | Path) -> None:
    arrays = _Arrays()
    doc = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "relsynth": __version__,
        "engine": model.engine,
        "seed": model.seed,
        "source": model.source,
        "schema": model.schema.to_dict(),
        "plan": {
            n: {"role": p.role, "context": p.context.name if p.context else None}
            for n, p in model.plan.tables.items()
        },
        "tables": {n: _table_out(t, f"t{i}", arrays) for i, (n, t) in enumerate(model.tables.items())},
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays.data)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.json", json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
        z.writestr("arrays.npz", buf.getvalue())
    tmp.replace(path)


def load(path: str | Path) -> Model:
    path = Path(path)
    if not path.exists():
        raise ModelError(
            f"Model file {path} does not exist; create one with: relsynth fit URL -o {path.name}"
        )
    try:
        with zipfile.ZipFile(path) as z:
            doc = json.loads(z.read("model.json"))
            npz = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
            arrays = _Arrays({k: npz[k] for k in npz.files})
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, ValueError, OSError):
        raise ModelError(
            f"{path} is not a relsynth model file (or it is damaged); refit with: relsynth fit"
        ) from None
    if doc.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path} is not a relsynth model file; refit with: relsynth fit")
    if doc.get("version") != MODEL_VERSION:
        raise ModelError(
            f"{path} is a model of format version {doc.get('version')} "
            f"(made by relsynth {doc.get('relsynth')}); "
            f"this relsynth {__version__} reads version {MODEL_VERSION}: refit it with relsynth fit"
        )
    schema = Schema.from_dict(doc["schema"])
    plan = make_plan(schema)
    for name, saved in doc["plan"].items():
        now = plan.tables.get(name)
        if (
            now is None
            or now.role != saved["role"]
            or (now.context.name if now.context else None) != saved["context"]
        ):
            raise ModelError(
                f"{path} was planned differently by relsynth {doc.get('relsynth')}: "
                "refit it with relsynth fit"
            )
    tables = {n: _table_in(t, arrays) for n, t in doc["tables"].items()}
    return Model(
        schema=schema, plan=plan, tables=tables, seed=doc["seed"], source=doc["source"], engine=doc["engine"]
    )
