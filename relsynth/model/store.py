"""Model files: a zip holding model.json and arrays.npz. No pickle anywhere, so a model file from
someone else can be loaded safely: JSON is parsed, arrays are read with allow_pickle=False.

The file holds real values from the source (category levels, value quantiles, reference tables):
treat it like the data it was fitted on.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from relsynth import __version__
from relsynth.errors import ModelError
from relsynth.graph import plan as make_plan
from relsynth.jsontags import jsonable, unjson
from relsynth.model import exact as ex
from relsynth.model.backrefs import BackRef
from relsynth.model.keys import Forest
from relsynth.model.persons import Persons
from relsynth.model.pii import PiiModel
from relsynth.model.relations import Aggregate, Conditional, Dependency, Numbering, Order, Repeat
from relsynth.model.spec import ColumnSpec, Dim, KeySpec, Model, TableModel
from relsynth.model.text import Shapes, Vocabulary
from relsynth.model.text_numbers import TextNumbers
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
        if s.shapes.chars:
            out["shapes"]["chars"] = s.shapes.chars
    if s.vocabulary is not None:
        v = s.vocabulary
        out["vocabulary"] = {
            "words": v.words,
            "weights": v.weights,
            "lengths": v.lengths,
            "capitalized": v.capitalized,
            "endings": v.endings,
        }
    if s.pii is not None:
        out["pii"] = s.pii.to_state()
    if s.sentinel is not None:
        out["sentinel"] = jsonable(s.sentinel)
    if s.offset is not None:
        out["offset"] = str(s.offset)  # exact, whatever reads the JSON
    return out


def _spec_in(d: dict[str, Any], arrays: _Arrays) -> ColumnSpec:
    s = ColumnSpec(d["name"], d["how"], d["null_share"], d["unique"])
    s.determinant, s.id_kind, s.decimals = d["determinant"], d["id_kind"], d["decimals"]
    s.constant = unjson(d["constant"])
    s.sentinel = unjson(d["sentinel"]) if "sentinel" in d else None
    s.offset = int(d["offset"]) if "offset" in d else None
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
        s.shapes = Shapes(d["shapes"]["templates"], d["shapes"]["weights"], d["shapes"].get("chars", []))
    if "vocabulary" in d:
        s.vocabulary = Vocabulary(**d["vocabulary"])
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
        "matrices": arrays.put(
            prefix, {"corr": t.corr, "within_chol": t.within_chol, "sibling_corr": t.sibling_corr}
        ),
        "key": {
            "columns": list(t.key.columns),
            "kind": t.key.kind,
            "start": t.key.start,
            "shapes": None
            if t.key.shapes is None
            else {"templates": t.key.shapes.templates, "weights": t.key.shapes.weights},
        },
        "dependencies": [[d.determinant, d.target] for d in t.dependencies],
        "conditionals": [
            [c.determinant, c.target, c.strength, *([list(c.also)] if c.also else [])] for c in t.conditionals
        ],
        "anchors": {c: [o.column, o.base, o.op, o.fk] for c, o in t.anchors.items()},
        "orders": [[o.column, o.base, o.op, o.fk] for o in t.orders],
        "number_orders": [[o.column, o.base, o.op, o.fk] for o in t.number_orders],
        "day_repeats": [[r.column, r.fk, r.parent_column] for r in t.day_repeats],
        "spans": [list(x) for x in t.spans],
        "repeats": [[r.column, r.fk, r.parent_column] for r in t.repeats],
        "copies": [[r.column, r.fk, r.parent_column] for r in t.copies],
        "aggregates": [[a.column, a.child, a.fk, list(a.terms)] for a in t.aggregates],
        "numbering": [[nb.column, nb.start, nb.by, list(nb.within)] for nb in t.numbering],
        "forests": {k: f.to_state() for k, f in t.forests.items()},
        "fk_null": t.fk_null,
        "key_matches": {k: [list(p) for p in v] for k, v in t.key_matches.items()},
        "time_matches": {
            k: {
                "column": m.column,
                "base": m.base,
                "unit": m.unit,
                "gap": None if m.gap is None else _encoder_out(m.gap, f"{prefix}/time_matches/{i}", arrays),
            }
            for i, (k, m) in enumerate(sorted(t.time_matches.items()))
        },
        "record_columns": t.record_columns,
        "record_core": t.record_core,
        "record_nudge": t.record_nudge,
        "non_finite": t.non_finite,
        "exact": _exact_out(t),
        "text_numbers": [
            _text_numbers_out(tn, f"{prefix}/text_numbers{i}", arrays) for i, tn in enumerate(t.text_numbers)
        ],
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
        sibling_corr=mats.get("sibling_corr", np.zeros(0)),  # files from before it: none
        null_context=d["null_context"],
        key=KeySpec(
            tuple(key["columns"]),
            key["kind"],
            key["start"],
            None if key["shapes"] is None else Shapes(key["shapes"]["templates"], key["shapes"]["weights"]),
        ),
        dependencies=[Dependency(a, b) for a, b in d["dependencies"]],
        conditionals=[
            Conditional(c[0], c[1], c[2], tuple(c[3]) if len(c) > 3 else ()) for c in d["conditionals"]
        ],
        anchors={c: Order(*o) for c, o in d["anchors"].items()},
        orders=[Order(*o) for o in d["orders"]],
        number_orders=[Order(*o) for o in d.get("number_orders", [])],
        day_repeats=[Repeat(*r) for r in d.get("day_repeats", [])],
        spans=[list(x) for x in d.get("spans", [])],
        repeats=[Repeat(*r) for r in d["repeats"]],
        copies=[Repeat(*r) for r in d.get("copies", [])],
        aggregates=[Aggregate(a, b, c, tuple(terms)) for a, b, c, terms in d["aggregates"]],
        numbering=[_numbering(*nb) for nb in d["numbering"]],
        forests={k: Forest.from_state(f) for k, f in d["forests"].items()},
        fk_null=d["fk_null"],
        key_matches={k: [tuple(p) for p in v] for k, v in d["key_matches"].items()},
        time_matches={
            k: ex.TimeMatch(
                str(m["column"]),
                str(m["base"]),
                None if m.get("gap") is None else _encoder_in(m["gap"], arrays),
                float(m.get("unit", 1.0)),
            )
            for k, m in d.get("time_matches", {}).items()
        },
    )
    _exact_in(t, d.get("exact", {}))
    t.text_numbers = [_text_numbers_in(x, arrays) for x in d.get("text_numbers", [])]
    t.record_columns = d.get("record_columns", [])
    t.record_core = d.get("record_core", [])
    t.record_nudge = d.get("record_nudge")
    t.non_finite = {str(c): [str(k) for k in kinds] for c, kinds in d.get("non_finite", {}).items()}
    if "reference" in d:
        t.reference = {}
        for col, keys in d["reference"].items():
            a = arrays.get(keys)
            t.reference[col] = [
                None if null else str(v)
                for v, null in zip(a["values"].tolist(), a["null"].tolist(), strict=True)
            ]
    return t


def _numbering(column: str, start: int, by: str | None, within: list[str] | None = None) -> Numbering:
    """A numbering as stored (model files written before ``within`` have three fields)."""
    return Numbering(column, start, by, tuple(within or ()))


def _text_numbers_out(tn: TextNumbers, prefix: str, arrays: _Arrays) -> dict[str, Any]:
    """Levels of the given (common ones only) with their marginals; no source number is stored
    but as knots of rare_k people each (fit._number_encoder)."""
    assert tn.pooled is not None
    return {
        "column": tn.column,
        "placeholder": tn.placeholder,
        "share": tn.share,
        "given": tn.given,
        "pooled": _encoder_out(tn.pooled, f"{prefix}/pooled", arrays),
        "pooled_format": tn.pooled_format,
        "levels": [
            [jsonable(level), fmt, _encoder_out(enc, f"{prefix}/level{i}", arrays)]
            for i, (level, fmt, enc) in enumerate(zip(tn.levels, tn.formats, tn.encoders, strict=True))
        ],
    }


def _text_numbers_in(d: dict[str, Any], arrays: _Arrays) -> TextNumbers:
    levels = d.get("levels", [])
    return TextNumbers(
        column=str(d["column"]),
        placeholder=str(d["placeholder"]),
        share=float(d["share"]),
        given=None if d.get("given") is None else str(d["given"]),
        levels=[unjson(level) for level, _, _ in levels],
        encoders=[_encoder_in(enc, arrays) for _, _, enc in levels],
        formats=[str(fmt) for _, fmt, _ in levels],
        pooled=_encoder_in(d["pooled"], arrays),
        pooled_format=str(d["pooled_format"]),
    )


def _exact_out(t: TableModel) -> dict[str, Any]:
    """The relations of relsynth.model.exact as JSON (a flag's two values tagged like any value)."""
    return {
        "parts": [[p.column, p.whole, p.part, p.output, p.text_format, p.blank] for p in t.parts],
        "differences": [
            [d.column, d.a, d.b, d.op, d.unit, d.mode, d.offset, d.decimals, d.dates, d.blank]
            for d in t.differences
        ],
        "calendars": [[c.year, c.month, c.day] for c in t.calendars],
        "reaches": [[r.column, r.op, r.table, r.base, [list(s) for s in r.path], r.day] for r in t.reaches],
        "existence": [
            [e.column, e.child, e.fk, jsonable(e.present), jsonable(e.absent)] for e in t.existence
        ],
        "no_overlap": [[o.start, o.end, o.key, o.shortest, o.longest, o.last_open] for o in t.no_overlap],
        "back_refs": [[b.fk, b.other, b.every, b.last] for b in t.back_refs],
        "family": dict(t.family),
    } | ({"persons": t.persons.to_json()} if t.persons is not None else {})


def _exact_in(t: TableModel, d: dict[str, Any]) -> None:
    t.parts = [ex.Part(*p) for p in d.get("parts", [])]
    t.differences = [ex.Difference(*x) for x in d.get("differences", [])]
    t.calendars = [ex.Calendar(*c) for c in d.get("calendars", [])]
    t.reaches = [
        ex.Reach(c, op, table, base, tuple((s[0], s[1], s[2]) for s in path), bool(day))
        for c, op, table, base, path, day in d.get("reaches", [])
    ]
    t.existence = [
        ex.Existence(c, ch, fk, unjson(a), unjson(b)) for c, ch, fk, a, b in d.get("existence", [])
    ]
    t.no_overlap = [ex.NoOverlap(*o) for o in d.get("no_overlap", [])]
    t.back_refs = [BackRef(*b) for b in d.get("back_refs", [])]
    t.persons = Persons.from_json(d.get("persons"))
    family = d.get("family", {})
    t.family = (
        {str(c): 1.0 for c in family}
        if isinstance(family, list)
        else {str(c): float(q) for c, q in family.items()}
    )


def save(model: Model, path: str | Path) -> None:
    """Write the model file all at once (io.atomic_write): a failed or interrupted save leaves
    nothing, neither a partial file nor a temporary one holding source values."""
    from relsynth.io import atomic_write

    refuse_replacing(path)
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
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as npz:  # what np.savez writes
        for name in sorted(arrays.data):
            one = io.BytesIO()
            np.save(one, arrays.data[name], allow_pickle=False)
            npz.writestr(_entry(f"{name}.npy"), one.getvalue())
    with (
        atomic_write(path, binary=True) as fh,
        zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as z,
    ):
        # model.json first: its name in the first local header is how a truncated file is recognised.
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        z.writestr(_entry("model.json"), text)
        z.writestr(_entry("arrays.npz"), buf.getvalue())


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry dated 1980-01-01, as every one is: the same model gives the same file, byte
    for byte (the time of writing was in each entry, np.savez's too)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive
_FIRST_ENTRY = b"model.json"


def sniff(path: str | Path) -> str:
    """What a file is, from its first bytes, never its name: 'relsynth' (a zip whose first entry is
    model.json, readable or not), 'zip' (another zip), 'pickle' (an SDV model file), 'empty',
    'missing', 'directory' or 'unknown'."""
    p = Path(path)
    if not p.exists():
        return "missing"
    if p.is_dir():
        return "directory"
    with open(p, "rb") as fh:
        head = fh.read(30 + len(_FIRST_ENTRY))
    if not head:
        return "empty"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocol 2-5 (cloudpickle)
        return "pickle"
    if head[:4] in _ZIP_MAGIC:
        name_len = int.from_bytes(head[26:28], "little")
        return "relsynth" if head[30 : 30 + name_len] == _FIRST_ENTRY else "zip"
    return "unknown"


_SQLITE_MAGIC = b"SQLite format 3\x00"
_MEMBERS = ("model.json", "arrays.npz")  # what save writes, in this order


def _members(path: str | Path) -> tuple[str, ...] | None:
    """The names a zip archive holds, in order (None if it cannot be read as one)."""
    try:
        with zipfile.ZipFile(path) as z:
            return tuple(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def refuse_replacing(path: str | Path) -> None:
    """A model file replaces only a model file (or an empty one): ``fit -o app.db`` with an
    application's SQLite database there, a typo away, would destroy it."""
    p = Path(path)
    if not p.exists() or p.is_dir():  # missing, or a directory: io says whether it can write
        return
    if not p.is_file():  # a FIFO (opening it waited for a reader forever), a device
        raise ModelError(
            f"{path} exists and is not a regular file (a pipe, a device or a socket): a model file "
            "replaces only a model file; give another path"
        )
    kind = sniff(path)
    if kind == "empty" or (kind == "relsynth" and _members(path) in {_MEMBERS, None}):
        return  # a model file, or one an interrupted save left unreadable
    if kind == "relsynth":  # model.json first, and other files beside it: a backup, not a model
        kind = "zip"
    what = {"zip": "a zip archive", "pickle": "an SDV model file"}.get(kind)
    if what is None:
        with open(path, "rb") as fh:
            what = "a SQLite database" if fh.read(16) == _SQLITE_MAGIC else "a file of another kind"
    raise ModelError(
        f"{path} exists and is {what}, not a relsynth model file: a model file replaces only a model "
        "file; give another path, or remove that file first if it is no longer needed"
    )


def _refit(path: Path) -> str:
    return f"refit it with: relsynth fit URL -o {path}"


def _not_a_model(path: Path, kind: str) -> ModelError:
    """The error for a file that is not a readable relsynth model, saying what it is instead."""
    if kind == "missing":
        return ModelError(f"Model file {path} does not exist; create one with: relsynth fit URL -o {path}")
    if kind == "directory":
        return ModelError(f"{path} is a directory, not a model file; give the file relsynth fit -o wrote")
    if kind == "empty":
        return ModelError(f"Model file {path} is empty (an interrupted copy or save?); {_refit(path)}")
    if kind == "pickle":
        return ModelError(
            f"{path} is an SDV model file (a Python pickle, which can run code when loaded), not a relsynth "
            "model: sample it with relsynth sample --allow-pickle, and only if you made it yourself"
        )
    if kind == "zip":
        return ModelError(
            f"{path} is a zip archive but not a relsynth model file (it does not start with model.json); "
            "give the file relsynth fit -o wrote"
        )
    return ModelError(
        f"{path} is not a relsynth model file (a zip archive holding model.json), nor an SDV one (a "
        "pickle): give the file relsynth fit -o wrote"
    )


def _damaged(path: Path, why: str) -> ModelError:
    return ModelError(f"{path} is a damaged relsynth model file ({why}); {_refit(path)}")


def _check_version(path: Path, doc: dict[str, Any]) -> None:
    """A version the file cannot have, a newer one, an older one: three different things to do."""
    version, made_by = doc.get("version"), doc.get("relsynth")
    if version == MODEL_VERSION and type(version) is int:
        return
    if type(version) is not int:
        raise _damaged(path, f"its format version is {version!r}, not a whole number: edited or corrupted")
    if made_by == __version__:  # this very relsynth writes MODEL_VERSION only
        raise _damaged(
            path, f"it says format version {version}, which this relsynth {__version__} never writes: edited?"
        )
    if version > MODEL_VERSION:
        raise ModelError(
            f"{path} is a model of format version {version}, made by relsynth {made_by}; this relsynth "
            f"{__version__} reads format version {MODEL_VERSION}: upgrade relsynth, or {_refit(path)}"
        )
    raise ModelError(
        f"{path} is a model of the older format version {version}, made by relsynth {made_by}; this "
        f"relsynth {__version__} reads format version {MODEL_VERSION} only: {_refit(path)}"
    )


MOST_ROWS = 10**11  # a table's row count in a model file: more is an edit, not a source relsynth read


def load(path: str | Path) -> Model:
    """Read a model file, saying exactly what is wrong with one that cannot be read, and never
    taking a damaged relsynth file for an SDV one (which would invite --allow-pickle)."""
    path = Path(path)
    kind = sniff(path)
    if kind != "relsynth":
        raise _not_a_model(path, kind)
    opened = False  # a zip whose table of contents (at its end) is missing was cut short
    try:
        with zipfile.ZipFile(path) as z:
            opened = True
            names = z.namelist()
            doc = json.loads(z.read("model.json"), parse_constant=_no_nan)
            if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
                found = doc.get("format") if isinstance(doc, dict) else None
                raise ModelError(
                    f"{path} holds a model.json that is not a relsynth model (format {found!r}); "
                    "give the file relsynth fit -o wrote"
                )
            _check_version(path, doc)
            if "arrays.npz" not in names:
                raise _damaged(path, "arrays.npz is missing")
            npz = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
            arrays = _Arrays({k: npz[k] for k in npz.files})
    except _NaN:
        raise _damaged(path, "its model.json holds NaN where relsynth writes numbers: edited?") from None
    except zipfile.BadZipFile:
        why = "corrupted: a part fails its checksum" if opened else "truncated: its end is missing"
        raise _damaged(path, why) from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, EOFError, OSError, KeyError, zlib.error):
        raise _damaged(path, "corrupted: its content cannot be decoded") from None
    except RecursionError:  # model.json nested 100,000 deep: relsynth writes a few levels
        raise _damaged(path, "its model.json is nested far deeper than relsynth writes: edited?") from None
    try:
        schema = Schema.from_dict(doc["schema"])
        plan = make_plan(schema)
        planned = doc["plan"]
    except (KeyError, TypeError, AttributeError):
        raise _damaged(path, "incomplete: its schema or plan is missing") from None
    for t in schema.tables:  # a count sampling would follow (at --scale 1): never below 0 nor beyond reason
        if type(t.row_count) is not int or not 0 <= t.row_count <= MOST_ROWS:
            raise _damaged(path, f"table '{t.name}' has a row count of {t.row_count!r}: edited?")
    for name, saved in planned.items():
        now = plan.tables.get(name)
        if (
            now is None
            or now.role != saved["role"]
            or (now.context.name if now.context else None) != saved["context"]
        ):
            if doc.get("relsynth") == __version__:
                raise _damaged(path, f"its plan of table '{name}' does not follow from its schema: edited?")
            raise ModelError(
                f"{path} was planned differently by relsynth {doc.get('relsynth')} than this relsynth "
                f"{__version__} plans its schema: {_refit(path)}"
            )
    try:
        tables = {n: _table_in(t, arrays) for n, t in doc["tables"].items()}
        seed, source, engine = doc["seed"], doc["source"], doc["engine"]
    except (KeyError, TypeError, AttributeError, IndexError):
        raise _damaged(path, "incomplete: a table's part is missing") from None
    for name, tm in tables.items():
        unsound = _unsound(tm)
        if unsound:
            raise _damaged(path, f"table '{name}': {unsound}: edited?")
    return Model(schema=schema, plan=plan, tables=tables, seed=seed, source=source, engine=engine)


class _NaN(ValueError):
    """model.json spells NaN (json reads it as a number): relsynth writes none (NULLs are null)."""


def _no_nan(constant: str) -> float:
    if constant == "NaN":
        raise _NaN(constant)
    return float(constant)  # +-Infinity: a number some states may hold


def _unsound(t: TableModel) -> str | None:
    """What of a table's arrays no fit writes: a matrix not of its dimensions' size, an emptied
    marginal, NaN in either (a NaN quantile or probability draws NaN rows, or fails the draw)."""
    d = len(t.dims)
    if np.shape(t.corr) != (d, d) or not np.isfinite(np.asarray(t.corr, dtype=float)).all():
        return f"its correlation matrix is not {d}x{d} numbers"
    if (
        np.shape(t.within_chol) not in {(0, 0), (t.n_own, t.n_own)}
        or not np.isfinite(np.asarray(t.within_chol, dtype=float)).all()
    ):
        return "its within-parent matrix is not of its own dimensions' size, or holds NaN"
    for dim in t.dims:
        for part in ("cum", "knots"):
            arr = getattr(dim.encoder, part, None)
            if arr is None:
                continue
            a = np.asarray(arr)
            if a.size == 0 or (a.dtype.kind == "f" and np.isnan(a).any()):
                return f"dimension '{dim.name}' has an emptied marginal or one holding NaN"
        levels = getattr(dim.encoder, "levels", None)
        cum = getattr(dim.encoder, "cum", None)
        if levels is not None and cum is not None and len(levels) != len(cum):
            return f"dimension '{dim.name}' has {len(cum)} probabilities for {len(levels)} levels"
    return None
