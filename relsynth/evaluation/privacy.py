"""Privacy: copied records, distance to the closest record (training vs holdout), rare categories.

- An *exact copy* is a synthetic row equal, on every column of the record (every column but the
  keys relsynth generates, personal data and free text included), to a source row that is unique
  in the source on those columns: a record that identifies one entity. (A synthetic row equal to a
  common combination, such as price 0.99 and quantity 1, copies nobody.) A record of one column,
  or of columns whose unique records a row knowing nobody would hit by chance more often than
  not (model.values.identifying), is not assessed: one equal value (a playlist named "Music"), or
  one cell of a grid of 12 codes x 4 floors that 48 rows fill, is not a copy of anybody's record.
- *Distance to closest record* (DCR): for each synthetic row, the distance to the nearest row
  the model was trained on, and to the nearest row of the holdout it never saw (same number of
  rows). The memorization test looks from the real side: a model that memorizes leaves synthetic
  rows on its training rows, so a training row sits nearer to the synthetic data than a held-out
  row does more often than one time in two (closer_to_training, an AUC). Where most pairs tie
  (columns of few values), the test says it cannot tell.
- *Nearest-neighbour distance ratio* (NNDR): nearest over second-nearest training distance; near
  0 means a synthetic row sits on one particular record.
- *Rare categories*: values that are rare in the source and appear in the synthetic data with
  counts small enough to single a person out.
- *Held by few people*: synthetic values that fewer than rare_k PEOPLE hold in the source, counted
  as the model counts them (model.fit.people_of: a row's person is its root ancestor, or the
  column naming them in a flat table), whatever their row counts: one patient's ward code on 30
  visits is one person's. Categories and text codes as whole values; numbers and dates only
  where the source repeats them as a point mass (a sentinel: rare_k rows and 1% of the column's,
  as model.sentinels finds them), not where a continuous value sits on one row and the synthetic
  one equals it by chance; and the letters of a code group (KOWALZ-0001..KOWALZ-0030) that fewer
  than rare_k people hold, seen in synthetic values as their prefix.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from relsynth.evaluation.features import Encoder, at_most, labels
from relsynth.model import values
from relsynth.model.values import identifying, record_keys, unique_records
from relsynth.schema import Kind, Table

MAX_QUERY_ROWS = 2_000
MAX_REFERENCE_ROWS = 20_000
RARE = 5  # a category seen fewer times than this can point at a person
CLOSER_LIMIT = 0.6  # share of rows nearer to training than holdout that flags a table (and beyond noise)
MIN_HOLDOUT = 50  # fewer held-out rows than this cannot tell memorization from chance
MAX_TIED = 0.5  # above this share of ties, the training-vs-holdout comparison says nothing
NEAR_CHANCE = 0.05  # expected chance hits of a whole synthetic table above which a near copy says nothing


def record_columns(table: Table, real: pd.DataFrame, synth: pd.DataFrame) -> list[str]:
    """The columns that make up a record (model.values.record_columns: all but keys and generated
    columns, the guard's own definition), present on both sides."""
    return values.record_columns(table, set(real.columns) & set(synth.columns))


WholeSource = Callable[[], Iterable[pd.DataFrame]]


def exact_copies(
    table: Table,
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    training: pd.DataFrame | None = None,
    whole: WholeSource | None = None,
) -> dict[str, Any]:
    """Copies of records unique among all the real rows (``real``); with a holdout, only those of
    rows the model was trained on (``training``): a record unique among the training rows alone,
    but shared with a held-out row, is nobody's in particular, and the count must not depend on
    whether evaluate was told about the holdout.

    ``whole``: the source's every row of the table (chunks of ``columns``), where ``real`` is a
    sample of them. A record seen once in a sample may be common in the source (an airline's
    Economy fare of 120.00: 13 "copies" in a 5,000-booking sample, none among the source's
    270,000 tickets); each candidate copy counts only if its record is unique in the whole source.
    """
    if not identifying(real, columns, table) or not len(synth):
        return {
            "copies": 0,
            "matching_common_rows": 0,
            "unique_source_rows": 0,
            "record_columns": len(columns),
            "assessed": False,
            **near_copies(table, real, synth, columns, training, whole, np.zeros(len(synth), dtype=bool)),
        }
    rk, sk = record_keys(table, real, columns), record_keys(table, synth, columns)
    exact = record_keys(table, real, columns, exact=True)
    unique = set(unique_records(exact.to_numpy(), rk.to_numpy()))
    if training is not None:
        unique &= set(record_keys(table, training, columns))
    in_source = sk.isin(rk.unique())
    copies = sk.isin(unique)
    out: dict[str, Any] = {}
    if whole is not None and copies.any():
        copies &= sk.isin(_unique_in_whole(table, columns, set(sk[copies]), whole))
        out["checked_in_whole_source"] = True
    return {
        "copies": int(copies.sum()),
        "matching_common_rows": int((in_source & ~copies).sum()),
        "unique_source_rows": len(unique),
        "record_columns": len(columns),
        "assessed": True,
        **out,
        **near_copies(table, real, synth, columns, training, whole, copies.to_numpy()),
    }


BOOKKEEPING = re.compile(
    r"(^|_)(update|updated|modified|modify|changed|import|imported|download|downloaded|upload|uploaded|"
    r"load|loaded|insert|inserted|sync|synced|etl|refresh|refreshed|extract|extracted)(_|$)",
    re.IGNORECASE,
)


def bookkeeping(table: Table, column: str) -> bool:
    """A date or time the database keeps about its own rows (update_date, import_date,
    download_date, last_modified), not about the person or event: moved by a day it leaves the
    record whose it is."""
    return table.column(column).kind == Kind.DATETIME and bool(BOOKKEEPING.search(column))


def near_copies(
    table: Table,
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    training: pd.DataFrame | None,
    whole: WholeSource | None,
    copied: np.ndarray,
) -> dict[str, Any]:
    """Synthetic rows, not exact copies (``copied``), equal to a source record unique on the
    record's core (values.core_columns: numbers, dates, categories; no personal data, free text
    or JSON), or on that core but a bookkeeping date (bookkeeping: one, or all of them): a real
    person's birth date, death date, sex, race and zip kept whole, with only update_date moved by
    a day or the name swapped, is that person's record (attack round 43a). The core is what the
    engine's guard keeps rows off. A core less its bookkeeping dates is assessed only where a
    whole synthetic table of rows drawn from the columns' own frequencies, knowing nobody, would
    hit a unique record by chance less than one time in twenty (values.chance_of_unique times the
    rows, NEAR_CHANCE): the engine does not keep rows off these. Any column but one was too wide:
    an honest i2b2 output equalled 2 visits on all but inout_cd (dates, stay and place are not
    independent, so the chance is above the estimate).
    Counts and the columns the rows differ on, never a value."""
    core = values.core_columns(table, columns)
    subsets: list[tuple[list[str], str | None]] = []
    if core != columns:
        subsets.append((core, None))
    kept = [c for c in core if not bookkeeping(table, c)]
    subsets += [([x for x in core if x != c], c) for c in core if c not in kept]
    if len(kept) < len(core) - 1:  # every bookkeeping date moved at once
        subsets.append((kept, ", ".join(c for c in core if c not in kept)))
    near = np.zeros(len(synth), dtype=bool)
    differing: dict[str, int] = {}
    if len(synth) and len(real):
        # each column's codes and frequencies once (values.chance_of_unique, per subset from these)
        codes = {c: values.value_codes(real[c]) for c in core}
        freq = {c: np.bincount(codes[c] + 1, minlength=1)[codes[c] + 1] / len(real) for c in core}
        for sub, left_out in subsets:
            if len(sub) < values.MIN_RECORD_COLUMNS:
                continue
            once = ~pd.DataFrame({c: codes[c] for c in sub}).duplicated(keep=False).to_numpy()
            chance = float(np.prod([freq[c] for c in sub], axis=0)[once].sum())
            if chance > values.CHANCE or (left_out is not None and chance * len(synth) > NEAR_CHANCE):
                continue
            rk, sk = record_keys(table, real, sub), record_keys(table, synth, sub)
            exact = record_keys(table, real, sub, exact=True)
            unique = set(unique_records(exact.to_numpy(), rk.to_numpy()))
            if training is not None:
                unique &= set(record_keys(table, training, sub))
            hit = sk.isin(unique).to_numpy() & ~copied & ~near
            if whole is not None and hit.any():
                keep = _unique_in_whole(table, sub, set(sk[hit]), whole)
                hit &= sk.isin(keep).to_numpy()
            if hit.any():
                near |= hit
                label = left_out if left_out is not None else "(personal data, text, JSON)"
                differing[label] = differing.get(label, 0) + int(hit.sum())
    return {"near_copies": int(near.sum()), "near_copy_columns": differing}


def _unique_in_whole(table: Table, columns: list[str], candidates: set[int], whole: WholeSource) -> set[int]:
    """Which of the ``candidates`` (record_keys) are records held by a single row of the whole
    source: every row whose record equals a candidate is kept (a few), then counted as the guard
    counts them (values.unique_records)."""
    wanted = np.fromiter(candidates, dtype=np.uint64, count=len(candidates))
    exact: list[np.ndarray] = []
    rounded: list[np.ndarray] = []
    for chunk in whole():
        if not len(chunk):
            continue
        e, r = values.exact_and_rounded_keys(table, chunk, columns)
        hit = np.isin(r, wanted)
        exact.append(e[hit])
        rounded.append(r[hit])
    if not exact:
        return set()
    return set(unique_records(np.concatenate(exact), np.concatenate(rounded)).tolist())


def distances(
    table: Table,
    train: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    holdout: pd.DataFrame | None,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """DCR to training (and holdout) rows and NNDR, on range-scaled columns."""
    from sklearn.neighbors import NearestNeighbors

    if not columns or len(train) < 3 or not len(synth):
        return {"available": False, "reason": "too few rows or no comparable columns"}
    enc = Encoder(table, train, columns)
    t = at_most(enc.transform(train), MAX_REFERENCE_ROWS, rng)
    s = at_most(enc.transform(synth), MAX_QUERY_ROWS, rng)
    if t.shape[1] == 0:  # every compared column is empty (all NULL): no distance to measure
        return {"available": False, "reason": "too few rows or no comparable columns"}
    out: dict[str, Any] = {"available": True, "rows": len(s)}
    if holdout is not None and len(holdout) < MIN_HOLDOUT:
        out.update({"holdout": False, "note": f"only {len(holdout)} held-out rows: too few to compare"})
        holdout = None
    if holdout is not None:
        h = enc.transform(holdout)
        size = min(len(t), len(h), MAX_REFERENCE_ROWS)
        t_eq, h_eq = at_most(t, size, rng), at_most(h, size, rng)
        # Membership, seen from the real rows: a model that memorizes leaves synthetic rows on its
        # training rows, so training rows sit nearer to the synthetic data than held-out rows do.
        # closer_to_training is the chance that a training row is nearer than a held-out row (the
        # ROC AUC of that distance as a membership guess): one half when nothing is memorized.
        near = NearestNeighbors(n_neighbors=1).fit(at_most(enc.transform(synth), MAX_REFERENCE_ROWS, rng))
        d_tr = near.kneighbors(t_eq)[0][:, 0]
        d_ho = near.kneighbors(h_eq)[0][:, 0]
        closer, tied = _pair_share(d_tr, d_ho)
        d_train = NearestNeighbors(n_neighbors=1).fit(t_eq).kneighbors(s)[0][:, 0]
        d_hold = NearestNeighbors(n_neighbors=1).fit(h_eq).kneighbors(s)[0][:, 0]
        noise = 2.0 * np.sqrt((2 * size + 1) / (12.0 * size * size))  # two standard errors of an AUC of 0.5
        out.update(
            {
                "holdout": True,
                "holdout_rows": len(holdout),
                "dcr_train_median": float(np.median(d_train)),
                "dcr_holdout_median": float(np.median(d_hold)),
                "closer_to_training": closer,
                "tied": tied,
                "flagged": closer > max(CLOSER_LIMIT, 0.5 + noise),
            }
        )
        if tied > MAX_TIED:  # ties score one half each: a test of mostly ties passes whatever the data
            out["inconclusive"] = (
                f"{tied:.0%} of (training, held-out) row pairs are equally near the synthetic data "
                "(the compared columns take few values): this test cannot tell memorization here"
            )
    else:
        d = NearestNeighbors(n_neighbors=1).fit(t).kneighbors(s)[0][:, 0]
        out.setdefault("note", "no holdout: fit with --holdout F to compare against rows the model never saw")
        out.update({"holdout": False, "dcr_train_median": float(np.median(d))})
    if len(t) >= 2:
        d2 = NearestNeighbors(n_neighbors=2).fit(t).kneighbors(s)[0]
        ratio = np.where(d2[:, 1] > 0, d2[:, 0] / np.maximum(d2[:, 1], 1e-12), 1.0)
        out["nndr_median"] = float(np.median(ratio))
        out["nndr_below_0.1"] = float(np.mean(ratio < 0.1))
    return out


def _pair_share(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """P(a < b) + P(a = b) / 2 over all pairs (a Mann-Whitney AUC), and P(a = b)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([b, a]))  # larger distance, larger rank; ties share a rank
    above = ranks[len(b) :].sum() - len(a) * (len(a) + 1) / 2  # pairs with a > b, ties counted half
    va, ca = np.unique(a, return_counts=True)
    vb, cb = np.unique(b, return_counts=True)
    _, ia, ib = np.intersect1d(va, vb, return_indices=True)
    tied = float((ca[ia] * cb[ib]).sum()) / (len(a) * len(b))
    return 1.0 - float(above) / (len(a) * len(b)), tied


def rare_categories(
    real: pd.DataFrame, synth: pd.DataFrame, columns: list[str], *, values: bool
) -> list[dict[str, Any]]:
    """Source-rare categories present in the synthetic data with small counts."""
    out = []
    for c in columns:
        rc = labels(real[c]).dropna().value_counts()
        sc = labels(synth[c]).dropna().value_counts()
        rare = rc[rc < RARE].to_dict()
        for value, k in sc[sc < RARE].items():
            if value in rare:
                item: dict[str, Any] = {
                    "column": c,
                    "source_count": int(rare[value]),
                    "synthetic_count": int(k),
                }
                if values:
                    item["value"] = value
                out.append(item)
    return out


# A code's letters before its number (KOWALZ in KOWALZ-0017): the part a group of codes shares.
_CODE_PREFIX = re.compile(r"^([^\W\d_]{3,})[-_ ./#:]?\d")


def rare_people(
    table: Table,
    real: pd.DataFrame,
    synth: pd.DataFrame,
    people: np.ndarray | None,
    k: int,
    *,
    values: bool,
    source: InSource | None = None,
    codes: frozenset[str] = frozenset(),
    left_out: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Synthetic values that fewer than ``k`` people hold in the source (``people``: each real
    row's person, -1 for none; None: each row is its own), whatever their row counts, per
    column: categories and text as whole values, numbers and dates where the source repeats them
    as a point mass, and code groups by their letters. Counts (and, with ``values``, the value).

    ``source``: ``real`` is a sample, and ``source(column, values)`` counts the rows and people
    of the whole source holding each value (read.SourceHolders, as fit counts them there; None
    where it cannot): a value is flagged on the source's count, not the sample's (a ward of 7
    patients is seen on 3 of a sample's), and a synthetic category or text the sample does not
    hold at all is looked up there too (at most SOURCE_LEVELS of them per column). Code letters
    are counted in the sample (the source groups whole values only). ``codes``: key columns into
    reference tables, codes fit withholds as categories (one patient's lab test), checked as such.
    ``left_out``: columns naming a row of another table (model.fit.kept_codes), kept as codes by
    fit, not values of people: not counted, as fit does not."""
    from relsynth.model import sentinels
    from relsynth.model.rare import persons

    keys = (set(table.primary_key) | table.fk_columns()) - codes
    listed = _listed(table)
    who = persons(np.arange(len(real)) if people is None else np.asarray(people))
    out: list[dict[str, Any]] = []
    for col in table.columns:
        c = col.name
        if (
            c in keys
            or c in left_out
            or col.pii
            or col.computed
            or col.type.values
            or c not in real
            or c not in synth
        ):
            continue
        if col.kind not in {Kind.CATEGORICAL, Kind.TEXT, Kind.NUMERICAL, Kind.DATETIME} and c not in codes:
            continue  # booleans and enum labels are public; identifiers are generated
        numeric = col.kind in {Kind.NUMERICAL, Kind.DATETIME} and c not in codes
        r, s = labels(real[c]), labels(synth[c])
        held = _holders(r, who)
        rare = held[held["people"] < k]
        if numeric:  # a point mass of the source (a sentinel), not a value of one row met by chance
            known = int(held["rows"].sum())
            rare = rare[(rare["rows"] >= k) & (rare["rows"] >= sentinels.MIN_SHARE * known)]
            # ... and of the output: one person's birth date on their visits is a point mass of
            # the source, and a synthetic row drawn on that day by chance copies nobody.
            drawn = s.value_counts()
            least = max(k, sentinels.MIN_SHARE / 2 * int(drawn.sum()))
            rare = rare[rare.index.isin(drawn.index[drawn.to_numpy() >= least])]
        if source is not None:  # numbers and dates the sample does not hold are not looked up
            count = functools.partial(source, c)
            rare = _in_source(rare, real[c], r, synth[c], s, count, k, unseen=not numeric)
        rare = rare[~rare.index.isin(listed.get(c, set()))]
        out += _found(c, "value", rare, s, values)
        if col.kind in {Kind.CATEGORICAL, Kind.TEXT}:
            out += _rare_prefixes(c, r, s, who, k, values)
    return out


def _listed(table: Table) -> dict[str, set[Any]]:
    """Values the schema lists for a column, as labels: a CHECK's IN list (specialty IN
    ('cardiology', ...)) is public like an enum's labels, and the sampler may write any of them."""
    from relsynth.model import checks as ck

    out: dict[str, set[Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, ck.In) and isinstance(node.column, ck.Col):
            spelled = labels(pd.Series(list(node.values), dtype=object)).dropna()
            out.setdefault(node.column.name, set()).update(spelled)
        for item in (*getattr(node, "items", ()), getattr(node, "item", None)):
            if item is not None:
                walk(item)

    for check in table.checks:
        try:
            walk(ck.parse(check.sql))
        except ValueError:  # NotInterpretable: a CHECK relsynth does not read lists nothing here
            continue
    return out


# (column, values as read) -> per value, the source's rows holding it and, second, its people
InSource = Callable[[str, set[Any]], "list[dict[Any, int]] | None"]


def _in_source(
    rare: pd.DataFrame,
    real: pd.Series,
    r: pd.Series,
    synth: pd.Series,
    s: pd.Series,
    count: Callable[[set[Any]], list[dict[Any, int]] | None],
    k: int,
    *,
    unseen: bool,
) -> pd.DataFrame:
    """``rare`` (_holders' rows, by label) counted again in the whole source: the synthetic values
    the sample finds rare, and (``unseen``) those it does not hold at all; by label (``r``, ``s``:
    the labels of ``real`` and ``synth``, the values as read, which the source is asked about)."""
    from relsynth.model.fit import SOURCE_LEVELS

    in_synth = set(s.dropna())
    wanted = set(rare.index) & in_synth
    missing = in_synth - set(r.dropna()) if unseen else set()
    if len(missing) <= SOURCE_LEVELS:
        wanted |= missing
    if not wanted:
        return rare
    raw = pd.concat([real, synth], ignore_index=True)
    spelled = pd.concat([r, s], ignore_index=True)
    mask = spelled.isin(wanted).to_numpy()
    label_of: dict[Any, Any] = {}
    for v, label in zip(raw[mask], spelled[mask], strict=True):
        try:
            label_of[v] = label
        except TypeError:  # unhashable (an array): the sample decides
            continue
    counted = count(set(label_of))
    if counted is None:
        return rare
    rows: dict[Any, int] = {}
    people: dict[Any, int] = {}
    for v, label in label_of.items():  # spellings of one label (1 and 1.0): the larger count
        rows[label] = max(rows.get(label, 0), counted[0].get(v, 0))
        people[label] = max(people.get(label, 0), counted[-1].get(v, 0))
    held = pd.DataFrame({"rows": pd.Series(rows, dtype="int64"), "people": pd.Series(people, dtype="int64")})
    return held[(held["people"] > 0) & (held["people"] < k)]


def _holders(spelled: pd.Series, who: np.ndarray) -> pd.DataFrame:
    """Per value of ``spelled`` (labels), its rows and the distinct people holding it."""
    pairs = pd.DataFrame({"v": spelled.to_numpy(dtype=object), "p": who}).dropna(subset=["v"])
    grouped = pairs.groupby("v", sort=False)["p"]
    return pd.DataFrame({"rows": grouped.size(), "people": grouped.nunique()})


def _rare_prefixes(
    column: str, real: pd.Series, synth: pd.Series, who: np.ndarray, k: int, values: bool
) -> list[dict[str, Any]]:
    """Code groups (KOWALZ-0001..KOWALZ-0030) whose letters fewer than ``k`` people hold in the
    source and that begin synthetic values, though no whole value need be the source's."""
    r = real.astype("string").str.extract(_CODE_PREFIX, expand=False)
    if not r.notna().any():
        return []
    held = _holders(r, who)
    rare = held[held["people"] < k]
    if rare.empty:
        return []
    s = synth.astype("string").str.extract(_CODE_PREFIX, expand=False)
    return _found(column, "code prefix", rare, s, values)


def _found(
    column: str, kind: str, rare: pd.DataFrame, synth: pd.Series, values: bool
) -> list[dict[str, Any]]:
    """The ``rare`` values (_holders' rows) that ``synth`` holds, as the result's items."""
    hits = rare.join(synth.dropna().value_counts().rename("synthetic"), how="inner")
    out = []
    for value, people, rows, n in zip(
        hits.index, hits["people"], hits["rows"], hits["synthetic"], strict=True
    ):
        item: dict[str, Any] = {
            "column": column,
            "kind": kind,
            "source_people": int(people),
            "source_rows": int(rows),
            "synthetic_rows": int(n),
        }
        if values:
            item["value"] = value
        out.append(item)
    return out


# -- personal data: a safety net behind the generator ------------------------------------------
# Personal data, free text and JSON are generated, never learned, so the comparisons above leave
# them out, and a whole-record check misses a copied person whose one identifier was regenerated.
# These counts look at them directly. The engine never writes a source value there, so on its
# output every count is 0; a count above 0 means a value was put there by something else.

# Categories whose any equal value is a person's: an e-mail, an id, a phone number.
IDENTIFYING_PII = frozenset(
    {"email", "phone", "national_id", "record_number", "payment_card", "iban", "secret"}
)
NAME_PII = frozenset({"first_name", "last_name", "person_name"})
MAX_TEXTS = 20_000  # synthetic free-text values scanned per column for source names
_BIRTH = re.compile(r"(birth|dob|born)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# an identifier-like value (an e-mail, an MRN): compared with every text column, not only its own
_IDENT_LIKE = re.compile(r"(@.*\.|\d{4,})")
_LAST_FIRST = re.compile(r"^\s*([^,]+?)\s*,\s*([^,]+?)\s*$")


def _norm(values: pd.Series, category: str) -> pd.Series:
    """Values spelled one way: case and surrounding spaces aside (as the engine's guard compares
    them), names with their inner spaces as one."""
    known = values.dropna()
    text = known.astype(str).str.strip().str.casefold()
    if category in NAME_PII or category == "street_address":
        text = text.str.replace(r"\s+", " ", regex=True)
    return text[text != ""]


def _people_per_value(values: pd.Series, who: np.ndarray, born: pd.Series | None = None) -> pd.Series:
    """Per value of ``values`` (indexed like ``who``), the distinct people holding it; with
    ``born`` (each row's birth day, indexed like ``who``) at least as many as the distinct birth
    days among its rows: people found through shared placeholders ('n/a', '000-000-0000') are
    merged into few, and 25 Mary Johnsons born on 25 days are 25 people, not the 3 they made."""
    frame = pd.DataFrame({"v": values, "p": who[values.index.to_numpy()]})
    out = frame.groupby("v", sort=False)["p"].nunique()
    if born is not None:
        frame["b"] = born.reindex(values.index).to_numpy()
        days = frame.dropna(subset=["b"]).groupby("v", sort=False)["b"].nunique()
        out = pd.concat([out, days.reindex(out.index).fillna(0)], axis=1).max(axis=1).astype("int64")
    return out


def _birth_column(table: Table, frame: pd.DataFrame) -> str | None:
    """The table's birth-date column (birth_date, dob, born), if ``frame`` holds it."""
    for c in table.columns:
        if _BIRTH.search(c.name) and c.kind == Kind.DATETIME and c.name in frame:
            return c.name
    return None


def _born(table: Table, frame: pd.DataFrame) -> pd.Series | None:
    """Each row's birth day (YYYY-MM-DD), or None where the table has no birth-date column."""
    b = _birth_column(table, frame)
    return None if b is None else _day(frame[b])


def _name_of(frame: pd.DataFrame, table: Table) -> pd.Series | None:
    """Each row's full name, normalised: a person-name column, or first and last name together."""
    cats = {c.name: str(c.pii) for c in table.columns if c.pii and c.name in frame}
    full = [c for c, k in cats.items() if k == "person_name"]
    first = [c for c, k in cats.items() if k == "first_name"]
    last = [c for c, k in cats.items() if k == "last_name"]
    if full:
        names = frame[full[0]]
    elif first and last:
        names = frame[first[0]].astype("string") + " " + frame[last[0]].astype("string")
    else:
        return None
    # 'Johnson, Mary' is Mary Johnson: a name written last name first, one comma, is turned round
    text = names.dropna().astype(str).str.replace(_LAST_FIRST, r"\2 \1", regex=True)
    words = text.str.casefold().str.findall(_WORD)
    out = words[words.map(len) >= 2].map(" ".join)
    return out


def source_names(
    schema: Any, real: dict[str, pd.DataFrame], people: dict[str, np.ndarray | None]
) -> dict[str, int]:
    """Every source person's full name (normalised words), with the people holding it, over all
    tables: a note in one table may name a patient of another."""
    from relsynth.model.rare import persons

    out: dict[str, int] = {}
    known = {t.name for t in schema.tables}
    for name, frame in real.items():
        if name not in known:
            continue
        frame = frame.reset_index(drop=True)
        names = _name_of(frame, schema.table(name))
        if names is None or names.empty:
            continue
        held_by = people.get(name)
        who = persons(np.arange(len(frame)) if held_by is None else np.asarray(held_by))
        for v, k in _people_per_value(names, who, _born(schema.table(name), frame)).items():
            out[str(v)] = max(out.get(str(v), 0), int(k))
    return out


def personal_copies(
    table: Table,
    real: pd.DataFrame,
    synth: pd.DataFrame,
    people: np.ndarray | None,
    k: int,
    names: dict[str, int],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Synthetic personal data equal to the source's, per column (counts only, never a value):

    - ``value``: a personal value equal to a source value (case and surrounding spaces aside, as
      the engine's guard compares them): any e-mail, id or phone number (and a generated
      identifier in text that is no key: an insurance number); a full name, address or text only
      when fewer than ``k`` people hold it in the source; a first or last name alone never (a
      first name such as John is many people's, and a rare surname is drawn by chance);
    - ``full name``: first and last name together equal to a name fewer than ``k`` people hold;
    - ``name and birth date``: a row whose full name and birth date are a source person's;
    - ``source name in text``: free text naming a source person (their full name, held by fewer
      than ``k`` people), scanned on at most MAX_TEXTS values by runs of 2-4 words;
    - ``rare JSON key``: a JSON object key fewer than ``k`` source people hold.

    A generated column (GENERATED ALWAYS AS) is none of these: the target computes it from the
    row's other columns, which are counted themselves. AdventureWorks' accountnumber = 'AW' ||
    lpad(customerid), from keys numbered from the source's smallest, equals a source account
    number on every row, and was called a leak or an altered output (attack round 45).
    """
    from relsynth.model.rare import persons

    who = persons(np.arange(len(real)) if people is None else np.asarray(people))
    keys = set(table.primary_key) | table.fk_columns()
    born = _born(table, real)
    out: list[dict[str, Any]] = []
    idents: dict[str, set[str]] = {}  # per identifier column, its source values one person's
    own: dict[str, set[str]] = {}  # per personal-data column, the source values counted there

    def found(column: str, kind: str, rows: int, distinct: int) -> None:
        if rows:
            out.append({"column": column, "kind": kind, "synthetic_rows": rows, "source_values": distinct})

    for col in table.columns:
        c = col.name
        if c not in real or c not in synth or col.computed:
            continue  # a generated column: see below
        shaped_id = (
            col.kind == Kind.ID
            and c not in keys
            and real[c].dropna().map(lambda v: isinstance(v, str)).all()
            and real[c].notna().any()
        )
        if col.pii in {"first_name", "last_name"}:
            continue  # one name alone is many people's, and drawn by chance: compared as full names below
        if col.pii or shaped_id:  # an identifier in text (INS810101564, an MRN) is a person's as an id
            cat = str(col.pii) if col.pii else "record_number"
            r, s = _norm(real[c], cat), _norm(synth[c], cat)
            if cat not in IDENTIFYING_PII:
                held = _people_per_value(r, who, born if cat in NAME_PII else None)
                r = r[r.isin(held.index[held.to_numpy() < k])]
            else:
                held = _people_per_value(r, who, born)
                idents[c] = {v for v in held.index[held.to_numpy() < k] if _IDENT_LIKE.search(v)}
            own[c] = set(r)
            hit = s.isin(own[c])
            found(c, "value", int(hit.sum()), int(s[hit].nunique()))
            if cat == "free_text" and names:
                rare = {v for v, n in names.items() if n < k}
                texts = synth[c].dropna().astype(str)
                if len(texts) > MAX_TEXTS:
                    texts = texts.iloc[np.sort(rng.choice(len(texts), MAX_TEXTS, replace=False))]
                hits = [_names_in(t, rare) for t in texts]
                named: set[str] = set().union(*hits) if hits else set()
                found(c, "source name in text", sum(1 for h in hits if h), len(named))
        elif values.json_column(table, c):
            r_keys = real[c].map(_json_keys)
            pairs = pd.DataFrame({"key": r_keys, "p": who}).explode("key").dropna(subset=["key"])
            held = pairs.groupby("key")["p"].nunique()
            rare = set(held.index[held.to_numpy() < k])
            if rare:
                s_keys = synth[c].map(_json_keys)
                hit = pd.Series([bool(ks & rare) for ks in s_keys], index=s_keys.index, dtype=bool)
                seen = set().union(*s_keys[hit]) & rare if hit.any() else set()
                found(c, "rare JSON key", int(hit.sum()), len(seen))
    # an e-mail or record number of one source person moved into another text column
    for col in table.columns:
        c = col.name
        if c not in synth or c in keys or col.computed or not idents:
            continue
        other = set().union(*(v for o, v in idents.items() if o != c)) - own.get(c, set())
        if not other:
            continue
        s = _norm(synth[c][synth[c].map(lambda v: isinstance(v, str))], "record_number")
        hit = s.isin(other)
        found(c, "identifier of another column", int(hit.sum()), int(s[hit].nunique()))
    r_names, s_names = _name_of(real, table), _name_of(synth, table)
    whole_name = any(str(c.pii) == "person_name" for c in table.columns)
    if r_names is not None and s_names is not None and not whole_name:
        held = _people_per_value(r_names, who, born)  # first and last name together, held by few people
        hit = s_names.isin(set(held.index[held.to_numpy() < k]))
        first = next(c.name for c in table.columns if str(c.pii) == "first_name")
        found(first, "full name", int(hit.sum()), int(s_names[hit].nunique()))
    b = _birth_column(table, real)
    if b is not None and b in synth and r_names is not None and s_names is not None:
        r_pairs = r_names + "|" + _day(real[b].loc[r_names.index])
        s_pairs = s_names + "|" + _day(synth[b].loc[s_names.index])
        hit = s_pairs.dropna().isin(set(r_pairs.dropna()))
        found(b, "name and birth date", int(hit.sum()), int(s_pairs.dropna()[hit].nunique()))
    return out


def _day(values: pd.Series) -> pd.Series:
    """Dates as their day (YYYY-MM-DD), whatever the driver gave (a date, a datetime, text)."""
    return pd.to_datetime(values.astype(str), errors="coerce").dt.strftime("%Y-%m-%d")


def _names_in(text: str, names: set[str]) -> set[str]:
    """The ``names`` (normalised full names of 2-4 words) that ``text`` contains word for word."""
    folded = text.casefold()
    found = list(_WORD.finditer(folded))
    words = [m.group() for m in found]
    grams = {" ".join(words[i : i + n]) for n in (2, 3, 4) for i in range(len(words) - n + 1)}
    for i in range(len(found) - 1):  # 'Vasquez-Thorsen, Ingeborg': last name first, turned round
        if "," not in folded[found[i].end() : found[i + 1].start()]:
            continue
        for a in (1, 2):
            for b in (1, 2):
                if i - a + 1 >= 0 and i + b < len(words):
                    grams.add(" ".join(words[i + 1 : i + 1 + b] + words[i - a + 1 : i + 1]))
    return grams & names


def _json_keys(value: Any) -> set[str]:
    """Every object key of a JSON document, at any depth, case aside ('Allergy_Note' is
    allergy_note; text that is no JSON: none)."""
    doc = values._json_document(value) if value is not None else None
    out: set[str] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            out.update(str(key).casefold() for key in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out
