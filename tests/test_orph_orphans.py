"""An undeclared key with a few orphans (attack round 39, F5): a WordPress database (MyISAM, no
declared foreign keys) keeps the meta rows of users (and posts) deleted since. With one such row
``wp_usermeta.user_id`` -> ``wp_users.ID`` was not inferred: a post's (or, where no column names
the person, a user's) 25 meta rows of a rare value counted as 25 people, and the value was in the
model file and on ~22 synthetic rows. Now a key that nearly every value satisfies (99% of the rows
and of the distinct values, and not by chance: relsynth/infer.py ``accepted``) is inferred,
``inspect`` says how many orphans it has (never which), synthetic rows point to synthetic parents,
and each orphan's person is its own key value: a deleted user's 12 rows of a rare value are one
person's, withheld, and ``evaluate`` counts them so. A column named like a key whose values miss
it on many rows, or that a small range of codes merely overlaps, is still no key.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from tests.conftest import EVERY_DATABASE
from tests.test_fp39_owners import WORDPRESS, _holds, _load, _stored

POSTS = [
    "CREATE TABLE wp_posts (ID BIGINT NOT NULL PRIMARY KEY, post_title VARCHAR(60) NOT NULL, "
    "post_date TIMESTAMP NOT NULL)",
    "CREATE TABLE wp_postmeta (meta_id BIGINT NOT NULL PRIMARY KEY, post_id BIGINT NOT NULL DEFAULT 0, "
    "meta_key VARCHAR(255), meta_value TEXT)",
    "CREATE INDEX post_id ON wp_postmeta (post_id)",
]
# (parent, its columns, child, its key column, the DDL)
LAYOUTS = {
    "usermeta": ("wp_users", ("ID", "user_login", "user_registered"), "wp_usermeta", "user_id", WORDPRESS),
    "postmeta": ("wp_posts", ("ID", "post_title", "post_date"), "wp_postmeta", "post_id", POSTS),
}
KEYS = ["nickname", "wp_user_level", "billing_phone", "session_tokens", "wp_capabilities"]
CANARY = "medical_condition"  # a meta key one user holds on 25 rows
DELETED = "rare_disease"  # a meta key a deleted user (an orphan id) holds on 12 rows


def _url(kind: str, request: pytest.FixtureRequest) -> str:
    make: Callable[[], str] = request.getfixturevalue(f"{kind}_db")
    return make()


def _wordpress(url: str, layout: str, orphans: list[tuple[int, int, bool]]) -> tuple[str, str, str]:
    """400 parents (1..400, none deleted: a dense key) with 5 meta rows each, parent 7 with 25 rows
    of CANARY; ``orphans``: (id of a parent deleted since, its rows, whether they hold DELETED)."""
    parent, columns, child, key, ddl = LAYOUTS[layout]
    rows = [(u, f"name{u}", dt.datetime(2015, 1, 1) + dt.timedelta(hours=3 * u)) for u in range(1, 401)]
    _load(url, ddl, parent, columns, rows)
    meta, i = [], 0
    r = random.Random(5)
    for u in range(1, 401):
        for k in KEYS:
            i += 1
            meta.append((i, u, k, f"{k}-{r.randrange(1000)}"))
    for _ in range(25):
        i += 1
        meta.append((i, 7, CANARY, "HIV positive since 2011"))
    for gone, n, rare in orphans:
        for _ in range(n):
            i += 1
            meta.append((i, gone, DELETED, "Fabry disease") if rare else (i, gone, "nickname", f"n-{i}"))
    first = "umeta_id" if layout == "usermeta" else "meta_id"
    _load(url, [], child, (first, key, "meta_key", "meta_value"), meta)
    return parent, child, key


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _inferred(url: str) -> dict[tuple[str, str], dict[str, object]]:
    data = json.loads(_cli("inspect", url, "--format", "json"))
    return {
        (t["name"], fk["columns"][0]): {
            "ref": (fk["ref_table"], fk["ref_columns"][0].lower()),
            **fk["inferred"],
        }
        for t in data["tables"]
        for fk in t.get("foreign_keys", [])
        if fk.get("inferred")
    }


def _check_output(model: relsynth.Model, parent: str, child: str, key: str, tmp_path: Path) -> None:
    """Neither canary in the model file nor in the output; every synthetic row under a synthetic parent."""
    text = _stored(model, tmp_path / "model.relsynth")
    out = relsynth.sample(model, seed=1)
    for secret in (CANARY, DELETED, "HIV positive", "Fabry"):
        assert secret not in text, secret
        assert _holds(out[child], secret) == 0, secret
    assert len(out[child]) > 1500
    assert out[child][key].notna().all()
    (ref,) = model.schema.table(parent).primary_key  # ID, id in PostgreSQL
    assert out[child][key].isin(out[parent][ref]).all()  # no orphan of the synthetic database
    assert set(out[child]["meta_key"]) == set(KEYS)


@pytest.mark.parametrize("layout", ["usermeta", "postmeta"])
@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_one_orphan_row_still_infers_the_key_and_withholds_one_parents_value(
    kind: str, layout: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The brief's database: one meta row of a user deleted since (id 5000, beyond the dense 1..400)."""
    url = _url(kind, request)
    parent, child, key = _wordpress(url, layout, [(5000, 1, False)])
    found = _inferred(url)
    assert found == {
        (child, key): {"ref": (parent, "id"), "by": "name", "values": 2026, "orphans": 1, "orphan_values": 1}
    }
    text = _cli("inspect", url)
    assert (
        f"{child}({key}) -> {parent}(id): by name and containment: 2,025 of 2,026 values found, "
        in text.replace("(ID)", "(id)")
    )
    assert "1 orphan row (1 value not in the parent; its own person)" in text
    assert "5000" not in text  # counts, never the values
    model = relsynth.fit(url, seed=1)
    fks = model.schema.table(child).foreign_keys
    assert [(fk.columns, fk.ref_table, fk.inferred and fk.inferred.orphans) for fk in fks] == [
        ((key,), parent, 1)
    ]
    _check_output(model, parent, child, key, tmp_path)


@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_a_deleted_users_rows_are_one_person(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Three users deleted since, one of them (id 9001) with 12 meta rows of a rare disease: the
    orphans' person is their user_id, so the 12 rows are one person's, not 12 people nor nobody."""
    url = _url(kind, request)
    parent, child, key = _wordpress(url, "usermeta", [(9001, 12, True), (9002, 1, False), (150, 2, False)])
    # id 150 is a user of wp_users here: only 9001 and 9002 are orphans (13 rows)
    found = _inferred(url)
    assert found[(child, key)] == {
        "ref": (parent, "id"),
        "by": "name",
        "values": 2040,
        "orphans": 13,
        "orphan_values": 2,
    }
    model = relsynth.fit(url, seed=2)
    _check_output(model, parent, child, key, tmp_path)


def test_evaluate_counts_a_deleted_posts_rows_as_one_person(sqlite_db: Callable[[], str]) -> None:
    """evaluate's rare_people uses fit's people (people_of): a synthetic row with the disease of a
    post deleted since (its 12 meta rows) is flagged, held by 1 person of the source (it was 12,
    one per row; post_id names no person, so no column of the table tells otherwise)."""
    from relsynth.evaluation import privacy
    from relsynth.model.fit import people_of
    from relsynth.reflection import reflect

    url = sqlite_db()
    parent, child, key = _wordpress(url, "postmeta", [(9001, 12, True), (9002, 1, False)])
    schema = reflect(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            frames = {n: pd.read_sql_table(n, conn) for n in (parent, child)}
    finally:
        engine.dispose()
    people = people_of(schema, frames)[child].people
    assert people is not None
    real = frames[child]
    gone = (real[key] == 9001).to_numpy()
    assert len(set(people[gone])) == 1 and people[gone][0] >= 0
    assert not np.isin(people[~gone], people[gone]).any()
    assert people[(real[key] == 9002).to_numpy()][0] not in set(people[gone])
    synth = real.head(50).copy()
    synth.loc[0, ["meta_key", "meta_value"]] = [DELETED, "Fabry disease"]
    flagged = privacy.rare_people(schema.table(child), real, synth, people, 5, values=False)
    assert {r["column"] for r in flagged} >= {"meta_key"}


# -- no key where the values do not say so ------------------------------------------------------


@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_a_column_named_like_a_key_that_misses_it_is_no_key(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """wp_comments.user_id (a user's own numbering, 0..2,000) misses wp_users' ids on most rows;
    tickets.status_id holds codes 1..6 of a 5-row statuses table, 6 on 0.5% of the rows: a small
    range of codes may have no orphan (1% of fewer than 100 values is none); and tracks.album_id
    numbers 1..1,000 overlap a key of albums with 8 gaps, falling into them as often as chance
    does (0.8% of the rows): none of them is a key."""
    url = _url(kind, request)
    users = [(u, f"user{u}", dt.datetime(2015, 1, 1)) for u in range(1, 401)]
    _load(url, WORDPRESS, "wp_users", ("ID", "user_login", "user_registered"), users)
    r = random.Random(3)
    comments = [(i, r.randrange(0, 2001), f"c{i}") for i in range(1, 1501)]
    _load(
        url,
        [
            "CREATE TABLE wp_comments (comment_ID BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, body VARCHAR(20))"
        ],
        "wp_comments",
        ("comment_ID", "user_id", "body"),
        comments,
    )
    assert _inferred(url) == {}
    url = _url(kind, request)
    _load(
        url,
        ["CREATE TABLE statuses (status_id INTEGER PRIMARY KEY, label VARCHAR(10) NOT NULL)"],
        "statuses",
        ("status_id", "label"),
        [(s, f"s{s}") for s in range(1, 6)],
    )
    tickets = [(i, 6 if i % 200 == 0 else 1 + i % 5) for i in range(1, 2001)]
    _load(
        url,
        ["CREATE TABLE tickets (ticket_id INTEGER PRIMARY KEY, status_id INTEGER NOT NULL)"],
        "tickets",
        ("ticket_id", "status_id"),
        tickets,
    )
    assert _inferred(url) == {}
    url = _url(kind, request)
    gaps = {101, 202, 303, 404, 505, 606, 707, 808}
    albums = [(a, f"album{a}") for a in range(1, 1001) if a not in gaps]
    _load(
        url,
        ["CREATE TABLE albums (album_id INTEGER PRIMARY KEY, title VARCHAR(20) NOT NULL)"],
        "albums",
        ("album_id", "title"),
        albums,
    )
    tracks = [(i, 1 + (i - 1) % 1000) for i in range(1, 2001)]
    _load(
        url,
        ["CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, album_id INTEGER NOT NULL)"],
        "tracks",
        ("track_id", "album_id"),
        tracks,
    )
    assert _inferred(url) == {}
    # The same albums, with the tracks keeping off the gaps but for one orphan: a key.
    url2 = _url(kind, request)
    _load(
        url2,
        ["CREATE TABLE albums (album_id INTEGER PRIMARY KEY, title VARCHAR(20) NOT NULL)"],
        "albums",
        ("album_id", "title"),
        [(a, f"album{a}") for a in range(1, 2001) if a % 3 or a == 3],  # a third deleted
    )
    kept = [a for a in range(1, 2001) if a % 3 or a == 3]
    tracks = [(i, kept[(i - 1) % len(kept)]) for i in range(1, 2001)] + [(2001, 6)]
    _load(
        url2,
        ["CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, album_id INTEGER NOT NULL)"],
        "tracks",
        ("track_id", "album_id"),
        tracks,
    )
    assert _inferred(url2) == {
        ("tracks", "album_id"): {
            "ref": ("albums", "album_id"),
            "by": "name",
            "values": 2001,
            "orphans": 1,
            "orphan_values": 1,
        }
    }


def test_which_near_misses_are_accepted() -> None:
    """infer.accepted on counts: every value found; 99% of the rows and distinct values; a dense
    key leaves it to the name; a key with gaps must be kept off beyond chance."""
    from relsynth.infer import NearMiss, accepted

    assert accepted(2026, 0) and not accepted(0, 0)
    assert not accepted(2026, 1)  # no evidence past the rows: refused
    assert accepted(2026, 1, NearMiss(401, 1, 400, 1.0))  # ids 1..400 and a deleted 5000
    assert not accepted(2026, 30, NearMiss(401, 1, 400, 1.0))  # 1.5% of the rows
    assert not accepted(2026, 10, NearMiss(6, 1, 5, 1.0))  # codes 1..6 of a 5-row table
    assert not accepted(2026, 10, NearMiss(150, 2, 148, 1.0))  # 1.3% of the values
    assert accepted(2026, 1, NearMiss(401, 1, 401, 400 / 480))  # kept off 80 gaps but one
    assert not accepted(2000, 16, NearMiss(1000, 8, 1000, 0.992))  # in the gaps as chance is
    assert accepted(2026, 1, NearMiss(401, 1))  # a key of text


def test_the_sdv_engine_leaves_the_orphans_out(sqlite_db: Callable[[], str]) -> None:
    """SDV's HMASynthesizer refuses a child row of no parent (naming its value in the error): an
    inferred key's orphans are left out of its fit, as a declared key's that SQLite did not enforce."""
    url = sqlite_db()
    parent, child, key = _wordpress(url, "postmeta", [(5000, 1, False)])
    model = relsynth.fit(url, seed=1, engine="sdv")
    out = relsynth.sample(model, seed=1)
    assert len(out[child]) == 2025 and out[child][key].isin(out[parent]["ID"]).all()
