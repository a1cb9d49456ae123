"""Safety fixes of round 43 (attacker atk43d).

S1. A --target-schema inside the source's own PostgreSQL database that holds an inheritance child
    (or a partition) of a source table: `--replace` dropped the child, and the source table lost its
    rows (1000 -> 500). Refused before anything is read or written, like the other reach checks.
    A parent whose children are not read with it (another schema, --exclude) is read FROM ONLY.

S2. A model file's SQL (CHECKs, DEFAULTs, views, triggers...) ran in the target as it was: only
    side-effect-free built-ins are run from it unless `sample --trust-model-sql`; a stacked
    statement is a one-line refusal.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.guard import SameDatabase
from tests.conftest import EVERY_DATABASE, run_raw, scalar

INHERIT = [
    "CREATE SCHEMA tgt",
    "CREATE TABLE public.base (id int PRIMARY KEY, v int)",
    "INSERT INTO public.base SELECT g, g % 10 FROM generate_series(1, 500) g",
    "CREATE TABLE tgt.base () INHERITS (public.base)",
    "INSERT INTO tgt.base SELECT g, g % 7 FROM generate_series(1001, 1500) g",
]


def _links(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.base'::regclass"))


@pytest.mark.postgresql
@pytest.mark.parametrize("mode", ["replace", "into_existing"])
def test_a_target_schema_holding_an_inheritance_child_of_a_source_table_is_refused(pg_db, mode) -> None:
    url = pg_db()
    run_raw(url, *INHERIT)
    with pytest.raises(SameDatabase, match=r"inheritance child tgt\.base of table base"):
        relsynth.synthesize(
            url, url, target_schema="tgt", seed=1, replace=True, into_existing=mode == "into_existing"
        )
    assert scalar(url, "SELECT count(*) FROM public.base") == 1000
    assert scalar(url, "SELECT count(*) FROM tgt.base") == 500
    assert _links(url) == 1


@pytest.mark.postgresql
def test_a_target_schema_holding_a_partition_of_a_source_table_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA tgt",
        "CREATE TABLE public.ev (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
        "CREATE TABLE public.ev_old PARTITION OF public.ev FOR VALUES FROM ('2000-01-01') TO ('2020-01-01')",
        "CREATE TABLE tgt.ev (id int, at date NOT NULL, PRIMARY KEY (id, at))",
        "ALTER TABLE public.ev ATTACH PARTITION tgt.ev FOR VALUES FROM ('2020-01-01') TO ('2030-01-01')",
        "INSERT INTO public.ev SELECT g, date '2015-01-01' + g * 5 FROM generate_series(1, 800) g",
    )
    before = scalar(url, "SELECT count(*) FROM public.ev")
    with pytest.raises(SameDatabase, match=r"partition tgt\.ev of table ev"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, replace=True)
    assert scalar(url, "SELECT count(*) FROM public.ev") == before
    assert scalar(url, "SELECT count(*) FROM tgt.ev") > 0


@pytest.mark.postgresql
def test_a_target_schema_holding_a_parent_of_a_source_table_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA tgt",
        "CREATE TABLE tgt.base (id int PRIMARY KEY, v int)",
        "CREATE TABLE public.child (w int) INHERITS (tgt.base)",
        "INSERT INTO public.child SELECT g, g % 3, g FROM generate_series(1, 300) g",
    )
    with pytest.raises(SameDatabase, match=r"parent table tgt\.base of table child"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, replace=True)
    assert scalar(url, "SELECT count(*) FROM public.child") == 300


@pytest.mark.postgresql
def test_a_grandchild_in_the_target_schema_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA mid",
        "CREATE SCHEMA tgt",
        "CREATE TABLE public.base (id int PRIMARY KEY, v int)",
        "CREATE TABLE mid.base () INHERITS (public.base)",
        "CREATE TABLE tgt.base () INHERITS (mid.base)",
        "INSERT INTO tgt.base SELECT g, g FROM generate_series(1, 200) g",
    )
    with pytest.raises(SameDatabase, match=r"inheritance child tgt\.base of table base"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, replace=True)
    assert scalar(url, "SELECT count(*) FROM public.base") == 200


@pytest.mark.postgresql
def test_a_parent_whose_child_is_in_another_schema_is_read_from_only(pg_db, sqlite_db) -> None:
    url = pg_db()
    run_raw(url, *INHERIT)
    target = sqlite_db()
    out = relsynth.synthesize(url, target, seed=1)
    assert out["model"].schema.table("base").row_count == 500  # was 1000: the child's rows too
    assert scalar(target, "SELECT count(*) FROM base") == 500
    assert scalar(target, "SELECT max(id) FROM base") <= 500  # no key learned from the child's 1001..1500


# -- S2: a model file's SQL runs in the target only as far as it is side-effect-free -------------------
# A hand-edited CHECK `v >= 0 AND lo_import('/etc/passwd') > 0` made `sample evil.rsm --target` read
# the server's /etc/passwd into 6,000 large objects. Now such an object is not created, and said.

BAD_CHECK = {
    "pg": "v >= 0 AND lo_import('/etc/passwd') > 0",
    "sqlite": "v >= 0 AND load_extension('/tmp/x') IS NULL",
    "mysql": "v >= 0 AND sleep(0) = 0",
}


def _model(tmp_path, url: str, edit) -> str:  # type: ignore[no-untyped-def]
    """A model of ``url`` (one table t with a CHECK), with its model.json edited by ``edit``."""
    import json
    import zipfile

    good = tmp_path / "m.rsm"
    result = CliRunner().invoke(main, ["fit", url, "-o", str(good), "--quiet"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(good) as z:
        doc = json.loads(z.read("model.json"))
        arrays = z.read("arrays.npz")
    edit(doc["schema"])
    evil = tmp_path / "evil.rsm"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("model.json", json.dumps(doc))
        z.writestr("arrays.npz", arrays)
    return str(evil)


def _source(db: str, url: str) -> None:
    run_raw(
        url,
        "CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v >= 0), w varchar(20))",
        *[f"INSERT INTO t VALUES ({i}, {i % 37}, 'x{i % 5}')" for i in range(1, 301)],
    )


def _set_check(sql: str):  # type: ignore[no-untyped-def]
    def edit(schema: dict) -> None:  # type: ignore[type-arg]
        table = schema["tables"][0]
        assert table["checks"], table
        table["checks"][0]["sql"] = sql

    return edit


def _checks_of_t(db: str, url: str) -> int:
    if db == "pg":
        return int(
            scalar(url, "SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c'")
        )
    if db == "mysql":
        return int(
            scalar(
                url,
                "SELECT count(*) FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() "
                "AND TABLE_NAME = 't'",
            )
        )
    return str(scalar(url, "SELECT sql FROM sqlite_master WHERE name = 't'")).upper().count("CHECK")


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_model_files_check_calling_a_function_is_not_created_and_said(db, request, tmp_path) -> None:
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _source(db, source)
    evil = _model(tmp_path, source, _set_check(BAD_CHECK[db]))
    result = CliRunner().invoke(main, ["sample", evil, "--target", target])
    assert result.exit_code == 0, result.output
    assert "not recreated: SQL from the model file calls" in result.output
    assert _checks_of_t(db, target) == 0
    assert scalar(target, "SELECT count(*) FROM t") == 300
    if db == "pg":
        assert scalar(target, "SELECT count(*) FROM pg_largeobject_metadata") == 0


@pytest.mark.postgresql
def test_trust_model_sql_runs_the_model_files_sql_as_it_is(pg_db, tmp_path) -> None:
    source, target, trusted = pg_db(), pg_db(), pg_db()
    _source("pg", source)
    edited = _model(tmp_path, source, _set_check("v >= 0 AND pg_backend_pid() > 0"))
    result = CliRunner().invoke(main, ["sample", edited, "--target", target])
    assert result.exit_code == 0, result.output
    assert "calls pg_backend_pid()" in result.output
    assert _checks_of_t("pg", target) == 0
    result = CliRunner().invoke(main, ["sample", edited, "--target", trusted, "--trust-model-sql"])
    assert result.exit_code == 0, result.output
    assert _checks_of_t("pg", trusted) == 1


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_stacked_statement_in_a_model_files_check_is_a_one_line_refusal(db, request, tmp_path) -> None:
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _source(db, source)
    run_raw(target, "CREATE TABLE victim (id int PRIMARY KEY)", "INSERT INTO victim VALUES (1)")
    evil = _model(tmp_path, source, _set_check("v >= 0); DROP TABLE victim; --"))
    for extra in ([], ["--trust-model-sql"]):
        result = CliRunner().invoke(main, ["sample", evil, "--target", target, *extra])
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.output
        assert "CHECK" in result.output and "second SQL statement" in result.output
        assert scalar(target, "SELECT count(*) FROM victim") == 1


@pytest.mark.postgresql
def test_a_model_files_trigger_default_and_view_are_checked(pg_db, tmp_path) -> None:
    source, target = pg_db(), pg_db()
    _source("pg", source)
    run_raw(
        source,
        "ALTER TABLE t ADD COLUMN made timestamptz DEFAULT now()",
        "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.made := now(); RETURN NEW; END $$",
        "CREATE TRIGGER t_stamp BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION stamp()",
        "CREATE VIEW big AS SELECT id, lower(w) AS w FROM t WHERE v > 10",
        "CREATE VIEW evil AS SELECT id FROM t",
    )

    def edit(schema: dict) -> None:  # type: ignore[type-arg]
        table = schema["tables"][0]
        for col in table["columns"]:
            if col["name"] == "made":
                col["default"] = "pg_sleep(0)::text::timestamptz"
        for view in schema["views"]:
            if view["name"] == "evil":
                view["sql"] = "SELECT id, pg_terminate_backend(pg_backend_pid()) FROM t"

    evil = _model(tmp_path, source, edit)
    result = CliRunner().invoke(main, ["sample", evil, "--target", target])
    assert result.exit_code == 0, result.output
    for said in (
        "calls pg_sleep(): DEFAULT of t.made",
        "runs code: trigger t_stamp",
        "calls pg_terminate_backend(): view evil",
    ):
        assert said in result.output
    assert scalar(target, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal") == 0
    assert scalar(target, "SELECT count(*) FROM pg_views WHERE viewname = 'evil'") == 0
    assert scalar(target, "SELECT count(*) FROM pg_views WHERE viewname = 'big'") == 1  # lower() is allowed


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("v >= 0 AND lo_import('/etc/passwd') > 0", "lo_import()"),
        ("lower(w) <> 'x' AND length(w) < 5", ""),
        ("'a\\'' , sleep(5) , '\\''", "sleep()"),  # MySQL reads \' as a quote: the call is outside
        ("'a\\' , lo_import('/x') , 'b'", "lo_import()"),  # PostgreSQL reads \ as itself
        ("w ~ '^\\d+$' AND w::varchar(10) <> ''", ""),
        ("pg_catalog.pg_sleep(1) IS NULL", "pg_sleep()"),
        ("\"lo_import\"('x') > 0", "lo_import()"),
        ("v > 0 -- ' lo_import('x')", "a comment"),
        ("(SELECT 1 FROM (DELETE FROM x RETURNING 1) d) = 1", "DELETE"),
        ("status::text = ANY (ARRAY['a'::character varying]::text[])", ""),
    ],
)
def test_the_model_sql_scan(sql: str, found: str) -> None:
    from relsynth.model.trust import _problem

    assert _problem(sql)[0] == found


# -- C2: hand-edited model files are one-line refusals, not internal errors nor silent ---------------


def _edited(tmp_path, demo_model, change) -> str:  # type: ignore[no-untyped-def]
    import json
    import zipfile

    with zipfile.ZipFile(demo_model) as z:
        text = z.read("model.json").decode()
        arrays = z.read("arrays.npz")
    text = change(text)
    out = tmp_path / "edited.rsm"
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("model.json", text if isinstance(text, str) else json.dumps(text))
        z.writestr("arrays.npz", arrays)
    return str(out)


def _rows(count):  # type: ignore[no-untyped-def]
    import json

    def change(text: str) -> str:
        doc = json.loads(text)
        doc["schema"]["tables"][0]["row_count"] = count
        return json.dumps(doc)

    return change


@pytest.mark.parametrize(
    "change",
    [
        lambda text: '{"a":' * 100_000 + "1" + "}" * 100_000,
        _rows(-5),
        _rows(10**12),
    ],
    ids=["nested", "negative_rows", "huge_rows"],
)
def test_a_hand_edited_model_file_is_a_one_line_refusal(tmp_path, sqlite_db, change) -> None:
    source = sqlite_db()
    run_raw(
        source,
        "CREATE TABLE t (id int PRIMARY KEY, v int)",
        *[f"INSERT INTO t VALUES ({i}, {i % 7})" for i in range(1, 101)],
    )
    model = tmp_path / "m.rsm"
    assert CliRunner().invoke(main, ["fit", source, "-o", str(model), "-q"]).exit_code == 0
    edited = _edited(tmp_path, model, change)
    result = CliRunner().invoke(main, ["sample", edited, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "damaged relsynth model file" in result.output and "internal error" not in result.output
