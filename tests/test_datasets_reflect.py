"""Reflection and planning of the five real datasets, checked against the facts in their SOURCE.md.

Every expected number below is copied from ``../shared/datasets/<name>/SOURCE.md`` ("Facts measured
on the loaded database"): they are facts about fixed files, so they are hard-coded, not recomputed.
Each dataset is loaded once per session (``pg_datasets``) and reflected once per module (cached).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from relsynth.graph import Plan, plan
from relsynth.reflection import reflect
from relsynth.schema import Schema

pytestmark = [pytest.mark.datasets, pytest.mark.postgresql]

# PostgreSQL schema each dataset is loaded into.
PG_SCHEMA = {
    "chinook": "public",
    "northwind": "public",
    "omop_synthea27nj": "cdm",
    "synthea_csv_11p": "public",
    "tpch_sf0001": "public",
}

# "Facts measured on the loaded database" (PostgreSQL 15), copied from each SOURCE.md.
#   self_refs: table -> FK columns, for each self-referencing FK
#   composite_pks: table -> PK columns (SOURCE.md gives the arity, the DDL the columns)
#   nullable_fk: the "nullable FK columns" list; OMOP's is cut off with '…' after 40 of 71
EXPECTED: dict[str, dict[str, Any]] = {
    "chinook": {
        "tables": 11,
        "fks": 11,
        "self_refs": {("employee", ("reports_to",))},
        "composite_pks": {"playlist_track": ("playlist_id", "track_id")},
        "nullable_fk_count": 4,
        "nullable_fk": {
            "customer.support_rep_id",
            "employee.reports_to",
            "track.album_id",
            "track.genre_id",
        },
        "without_pk": set(),
        "rows": {
            "album": 347,
            "artist": 275,
            "customer": 59,
            "employee": 8,
            "genre": 25,
            "invoice": 412,
            "invoice_line": 2240,
            "media_type": 5,
            "playlist": 18,
            "playlist_track": 8715,
            "track": 3503,
        },
    },
    "northwind": {
        "tables": 14,
        "fks": 13,
        "self_refs": {("employees", ("reports_to",))},
        "composite_pks": {
            "order_details": ("order_id", "product_id"),
            "employee_territories": ("employee_id", "territory_id"),
            "customer_customer_demo": ("customer_id", "customer_type_id"),
        },
        "nullable_fk_count": 6,
        "nullable_fk": {
            "employees.reports_to",
            "orders.customer_id",
            "orders.employee_id",
            "orders.ship_via",
            "products.category_id",
            "products.supplier_id",
        },
        "without_pk": set(),
        "rows": {
            "categories": 8,
            "customer_customer_demo": 0,
            "customer_demographics": 0,
            "customers": 91,
            "employee_territories": 49,
            "employees": 9,
            "order_details": 2155,
            "orders": 830,
            "products": 77,
            "region": 4,
            "shippers": 6,
            "suppliers": 29,
            "territories": 53,
            "us_states": 51,
        },
    },
    "omop_synthea27nj": {
        "tables": 39,
        "fks": 134,
        "self_refs": {
            ("visit_detail", ("parent_visit_detail_id",)),
            ("visit_detail", ("preceding_visit_detail_id",)),
            ("visit_occurrence", ("preceding_visit_occurrence_id",)),
        },
        "composite_pks": {},
        "nullable_fk_count": 71,
        "nullable_fk": {  # SOURCE.md's list stops here with '…'
            "care_site.location_id",
            "care_site.place_of_service_concept_id",
            "condition_occurrence.condition_source_concept_id",
            "condition_occurrence.provider_id",
            "condition_occurrence.visit_detail_id",
            "condition_occurrence.visit_occurrence_id",
            "cost.currency_concept_id",
            "cost.drg_concept_id",
            "cost.revenue_code_concept_id",
            "death.cause_concept_id",
            "death.cause_source_concept_id",
            "device_exposure.device_source_concept_id",
            "device_exposure.provider_id",
            "device_exposure.unit_concept_id",
            "device_exposure.unit_source_concept_id",
            "device_exposure.visit_detail_id",
            "device_exposure.visit_occurrence_id",
            "drug_exposure.drug_source_concept_id",
            "drug_exposure.provider_id",
            "drug_exposure.visit_detail_id",
            "drug_exposure.visit_occurrence_id",
            "drug_strength.amount_unit_concept_id",
            "drug_strength.denominator_unit_concept_id",
            "drug_strength.numerator_unit_concept_id",
            "episode.episode_source_concept_id",
            "location.country_concept_id",
            "measurement.meas_event_field_concept_id",
            "measurement.measurement_source_concept_id",
            "measurement.provider_id",
            "measurement.unit_source_concept_id",
            "measurement.visit_detail_id",
            "measurement.visit_occurrence_id",
            "metadata.value_as_concept_id",
            "note.note_event_field_concept_id",
            "note.provider_id",
            "note.visit_detail_id",
            "note.visit_occurrence_id",
            "note_nlp.note_nlp_concept_id",
            "note_nlp.note_nlp_source_concept_id",
            "note_nlp.section_concept_id",
        },
        "nullable_fk_truncated": True,
        "without_pk": {
            "cdm_source",
            "cohort",
            "cohort_definition",
            "concept_ancestor",
            "concept_relationship",
            "concept_synonym",
            "death",
            "drug_strength",
            "episode_event",
            "fact_relationship",
            "source_to_concept_map",
        },
        "rows": {
            "care_site": 0,
            "cdm_source": 1,
            "cohort": 0,
            "cohort_definition": 0,
            "concept": 2294,
            "concept_ancestor": 0,
            "concept_class": 0,
            "concept_relationship": 266588,
            "concept_synonym": 0,
            "condition_era": 469,
            "condition_occurrence": 470,
            "cost": 0,
            "death": 3,
            "device_exposure": 1,
            "domain": 0,
            "dose_era": 0,
            "drug_era": 0,
            "drug_exposure": 883,
            "drug_strength": 0,
            "episode": 0,
            "episode_event": 0,
            "fact_relationship": 0,
            "location": 0,
            "measurement": 10040,
            "metadata": 0,
            "note": 0,
            "note_nlp": 0,
            "observation": 8099,
            "observation_period": 28,
            "payer_plan_period": 0,
            "person": 28,
            "procedure_occurrence": 1649,
            "provider": 67,
            "relationship": 0,
            "source_to_concept_map": 0,
            "specimen": 0,
            "visit_detail": 1791,
            "visit_occurrence": 1791,
            "vocabulary": 1,
        },
    },
    "synthea_csv_11p": {
        "tables": 18,
        "fks": 43,
        "self_refs": set(),
        "composite_pks": {},
        "nullable_fk_count": 6,
        "nullable_fk": {
            "claims.primarypatientinsuranceid",
            "claims.referringproviderid",
            "claims.secondarypatientinsuranceid",
            "claims_transactions.patientinsuranceid",
            "observations.encounter",
            "payer_transitions.secondary_payer",
        },
        "without_pk": {
            "allergies",
            "conditions",
            "devices",
            "imaging_studies",
            "immunizations",
            "medications",
            "observations",
            "payer_transitions",
            "procedures",
            "supplies",
        },
        "rows": {
            "allergies": 14,
            "careplans": 37,
            "claims": 561,
            "claims_transactions": 5567,
            "conditions": 273,
            "devices": 11,
            "encounters": 388,
            "imaging_studies": 11,
            "immunizations": 129,
            "medications": 173,
            "observations": 3626,
            "organizations": 47,
            "patients": 11,
            "payer_transitions": 128,
            "payers": 10,
            "procedures": 889,
            "providers": 47,
            "supplies": 47,
        },
    },
    "tpch_sf0001": {
        "tables": 8,
        "fks": 9,
        "self_refs": set(),
        "composite_pks": {"lineitem": ("l_orderkey", "l_linenumber")},
        "nullable_fk_count": 0,
        "nullable_fk": set(),
        "without_pk": {"partsupp"},
        "rows": {
            "customer": 150,
            "lineitem": 6005,
            "nation": 25,
            "orders": 1500,
            "part": 200,
            "partsupp": 800,
            "region": 5,
            "supplier": 10,
        },
    },
}

# The "#### Foreign keys" list of each SOURCE.md (PostgreSQL section), verbatim.
FK_LISTS = {
    "chinook": """
album(artist_id) → artist(artist_id)
customer(support_rep_id) → employee(employee_id) [nullable]
employee(reports_to) → employee(employee_id) [nullable]
invoice(customer_id) → customer(customer_id)
invoice_line(invoice_id) → invoice(invoice_id)
invoice_line(track_id) → track(track_id)
playlist_track(playlist_id) → playlist(playlist_id)
playlist_track(track_id) → track(track_id)
track(album_id) → album(album_id) [nullable]
track(genre_id) → genre(genre_id) [nullable]
track(media_type_id) → media_type(media_type_id)
""",
    "northwind": """
customer_customer_demo(customer_type_id) → customer_demographics(customer_type_id)
customer_customer_demo(customer_id) → customers(customer_id)
employee_territories(employee_id) → employees(employee_id)
employee_territories(territory_id) → territories(territory_id)
employees(reports_to) → employees(employee_id) [nullable]
order_details(order_id) → orders(order_id)
order_details(product_id) → products(product_id)
orders(customer_id) → customers(customer_id) [nullable]
orders(employee_id) → employees(employee_id) [nullable]
orders(ship_via) → shippers(shipper_id) [nullable]
products(category_id) → categories(category_id) [nullable]
products(supplier_id) → suppliers(supplier_id) [nullable]
territories(region_id) → region(region_id)
""",
    "omop_synthea27nj": """
care_site(location_id) → location(location_id) [nullable]
care_site(place_of_service_concept_id) → concept(concept_id) [nullable]
cohort_definition(definition_type_concept_id) → concept(concept_id)
cohort_definition(subject_concept_id) → concept(concept_id)
concept_ancestor(ancestor_concept_id) → concept(concept_id)
concept_ancestor(descendant_concept_id) → concept(concept_id)
concept_class(concept_class_concept_id) → concept(concept_id)
concept_synonym(concept_id) → concept(concept_id)
concept_synonym(language_concept_id) → concept(concept_id)
condition_era(condition_concept_id) → concept(concept_id)
condition_era(person_id) → person(person_id)
condition_occurrence(condition_concept_id) → concept(concept_id)
condition_occurrence(condition_source_concept_id) → concept(concept_id) [nullable]
condition_occurrence(person_id) → person(person_id)
condition_occurrence(provider_id) → provider(provider_id) [nullable]
condition_occurrence(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
condition_occurrence(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
cost(cost_domain_id) → domain(domain_id)
cost(cost_type_concept_id) → concept(concept_id)
cost(currency_concept_id) → concept(concept_id) [nullable]
cost(drg_concept_id) → concept(concept_id) [nullable]
cost(revenue_code_concept_id) → concept(concept_id) [nullable]
death(cause_concept_id) → concept(concept_id) [nullable]
death(cause_source_concept_id) → concept(concept_id) [nullable]
death(person_id) → person(person_id)
device_exposure(device_concept_id) → concept(concept_id)
device_exposure(device_source_concept_id) → concept(concept_id) [nullable]
device_exposure(person_id) → person(person_id)
device_exposure(provider_id) → provider(provider_id) [nullable]
device_exposure(unit_concept_id) → concept(concept_id) [nullable]
device_exposure(unit_source_concept_id) → concept(concept_id) [nullable]
device_exposure(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
device_exposure(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
domain(domain_concept_id) → concept(concept_id)
dose_era(drug_concept_id) → concept(concept_id)
dose_era(person_id) → person(person_id)
dose_era(unit_concept_id) → concept(concept_id)
drug_era(drug_concept_id) → concept(concept_id)
drug_era(person_id) → person(person_id)
drug_exposure(drug_concept_id) → concept(concept_id)
drug_exposure(drug_source_concept_id) → concept(concept_id) [nullable]
drug_exposure(person_id) → person(person_id)
drug_exposure(provider_id) → provider(provider_id) [nullable]
drug_exposure(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
drug_exposure(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
drug_strength(amount_unit_concept_id) → concept(concept_id) [nullable]
drug_strength(denominator_unit_concept_id) → concept(concept_id) [nullable]
drug_strength(drug_concept_id) → concept(concept_id)
drug_strength(ingredient_concept_id) → concept(concept_id)
drug_strength(numerator_unit_concept_id) → concept(concept_id) [nullable]
episode(episode_concept_id) → concept(concept_id)
episode(episode_object_concept_id) → concept(concept_id)
episode(episode_source_concept_id) → concept(concept_id) [nullable]
episode(episode_type_concept_id) → concept(concept_id)
episode(person_id) → person(person_id)
episode_event(episode_event_field_concept_id) → concept(concept_id)
episode_event(episode_id) → episode(episode_id)
fact_relationship(domain_concept_id_1) → concept(concept_id)
fact_relationship(domain_concept_id_2) → concept(concept_id)
fact_relationship(relationship_concept_id) → concept(concept_id)
location(country_concept_id) → concept(concept_id) [nullable]
measurement(meas_event_field_concept_id) → concept(concept_id) [nullable]
measurement(measurement_concept_id) → concept(concept_id)
measurement(measurement_source_concept_id) → concept(concept_id) [nullable]
measurement(person_id) → person(person_id)
measurement(provider_id) → provider(provider_id) [nullable]
measurement(unit_source_concept_id) → concept(concept_id) [nullable]
measurement(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
measurement(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
metadata(metadata_concept_id) → concept(concept_id)
metadata(metadata_type_concept_id) → concept(concept_id)
metadata(value_as_concept_id) → concept(concept_id) [nullable]
note(encoding_concept_id) → concept(concept_id)
note(language_concept_id) → concept(concept_id)
note(note_class_concept_id) → concept(concept_id)
note(note_event_field_concept_id) → concept(concept_id) [nullable]
note(note_type_concept_id) → concept(concept_id)
note(person_id) → person(person_id)
note(provider_id) → provider(provider_id) [nullable]
note(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
note(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
note_nlp(note_nlp_concept_id) → concept(concept_id) [nullable]
note_nlp(note_nlp_source_concept_id) → concept(concept_id) [nullable]
note_nlp(section_concept_id) → concept(concept_id) [nullable]
observation(obs_event_field_concept_id) → concept(concept_id) [nullable]
observation(observation_concept_id) → concept(concept_id)
observation(observation_source_concept_id) → concept(concept_id) [nullable]
observation(person_id) → person(person_id)
observation(provider_id) → provider(provider_id) [nullable]
observation(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
observation(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
observation_period(person_id) → person(person_id)
payer_plan_period(payer_concept_id) → concept(concept_id) [nullable]
payer_plan_period(payer_source_concept_id) → concept(concept_id) [nullable]
payer_plan_period(person_id) → person(person_id)
payer_plan_period(plan_concept_id) → concept(concept_id) [nullable]
payer_plan_period(plan_source_concept_id) → concept(concept_id) [nullable]
payer_plan_period(sponsor_concept_id) → concept(concept_id) [nullable]
payer_plan_period(sponsor_source_concept_id) → concept(concept_id) [nullable]
payer_plan_period(stop_reason_concept_id) → concept(concept_id) [nullable]
payer_plan_period(stop_reason_source_concept_id) → concept(concept_id) [nullable]
person(care_site_id) → care_site(care_site_id) [nullable]
person(ethnicity_concept_id) → concept(concept_id)
person(location_id) → location(location_id) [nullable]
person(provider_id) → provider(provider_id) [nullable]
procedure_occurrence(person_id) → person(person_id)
procedure_occurrence(procedure_concept_id) → concept(concept_id)
procedure_occurrence(procedure_source_concept_id) → concept(concept_id) [nullable]
procedure_occurrence(provider_id) → provider(provider_id) [nullable]
procedure_occurrence(visit_detail_id) → visit_detail(visit_detail_id) [nullable]
procedure_occurrence(visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
provider(care_site_id) → care_site(care_site_id) [nullable]
relationship(relationship_concept_id) → concept(concept_id)
source_to_concept_map(source_concept_id) → concept(concept_id)
source_to_concept_map(target_concept_id) → concept(concept_id)
source_to_concept_map(target_vocabulary_id) → vocabulary(vocabulary_id)
specimen(anatomic_site_concept_id) → concept(concept_id) [nullable]
specimen(disease_status_concept_id) → concept(concept_id) [nullable]
specimen(person_id) → person(person_id)
specimen(specimen_concept_id) → concept(concept_id)
specimen(specimen_type_concept_id) → concept(concept_id)
specimen(unit_concept_id) → concept(concept_id) [nullable]
visit_detail(care_site_id) → care_site(care_site_id) [nullable]
visit_detail(parent_visit_detail_id) → visit_detail(visit_detail_id) [nullable]
visit_detail(person_id) → person(person_id)
visit_detail(preceding_visit_detail_id) → visit_detail(visit_detail_id) [nullable]
visit_detail(provider_id) → provider(provider_id) [nullable]
visit_detail(visit_detail_concept_id) → concept(concept_id)
visit_detail(visit_occurrence_id) → visit_occurrence(visit_occurrence_id)
visit_occurrence(care_site_id) → care_site(care_site_id) [nullable]
visit_occurrence(person_id) → person(person_id)
visit_occurrence(preceding_visit_occurrence_id) → visit_occurrence(visit_occurrence_id) [nullable]
visit_occurrence(provider_id) → provider(provider_id) [nullable]
visit_occurrence(visit_concept_id) → concept(concept_id)
""",
    "synthea_csv_11p": """
allergies(encounter) → encounters(id)
allergies(patient) → patients(id)
careplans(encounter) → encounters(id)
careplans(patient) → patients(id)
claims(appointmentid) → encounters(id)
claims(patientid) → patients(id)
claims(primarypatientinsuranceid) → payers(id) [nullable]
claims(providerid) → providers(id)
claims(referringproviderid) → providers(id) [nullable]
claims(secondarypatientinsuranceid) → payers(id) [nullable]
claims(supervisingproviderid) → providers(id)
claims_transactions(appointmentid) → encounters(id)
claims_transactions(claimid) → claims(id)
claims_transactions(patientid) → patients(id)
claims_transactions(patientinsuranceid) → patients(id) [nullable]
claims_transactions(placeofservice) → organizations(id)
claims_transactions(providerid) → providers(id)
claims_transactions(supervisingproviderid) → providers(id)
conditions(encounter) → encounters(id)
conditions(patient) → patients(id)
devices(encounter) → encounters(id)
devices(patient) → patients(id)
encounters(organization) → organizations(id)
encounters(patient) → patients(id)
encounters(payer) → payers(id)
encounters(provider) → providers(id)
imaging_studies(encounter) → encounters(id)
imaging_studies(patient) → patients(id)
immunizations(encounter) → encounters(id)
immunizations(patient) → patients(id)
medications(encounter) → encounters(id)
medications(patient) → patients(id)
medications(payer) → payers(id)
observations(encounter) → encounters(id) [nullable]
observations(patient) → patients(id)
payer_transitions(patient) → patients(id)
payer_transitions(payer) → payers(id)
payer_transitions(secondary_payer) → payers(id) [nullable]
procedures(encounter) → encounters(id)
procedures(patient) → patients(id)
providers(organization) → organizations(id)
supplies(encounter) → encounters(id)
supplies(patient) → patients(id)
""",
    "tpch_sf0001": """
customer(c_nationkey) → nation(n_nationkey)
lineitem(l_orderkey) → orders(o_orderkey)
lineitem(l_partkey) → part(p_partkey)
lineitem(l_suppkey) → supplier(s_suppkey)
nation(n_regionkey) → region(r_regionkey)
orders(o_custkey) → customer(c_custkey)
partsupp(ps_partkey) → part(p_partkey)
partsupp(ps_suppkey) → supplier(s_suppkey)
supplier(s_nationkey) → nation(n_nationkey)
""",
}

_FK_LINE = re.compile(r"^(\w+)\((\w+)\) → (\w+)\((\w+)\)( \[nullable\])?$")


def source_fks(name: str) -> tuple[set[tuple[str, str, str, str]], set[str]]:
    """(edges (child, column, parent, parent column), nullable 'child.column') from FK_LISTS."""
    edges, nullable = set(), set()
    for line in FK_LISTS[name].strip().splitlines():
        m = _FK_LINE.match(line)
        assert m, f"unparsed FK line in FK_LISTS[{name!r}]: {line!r}"
        child, col, parent, ref, null = m.groups()
        edges.add((child, col, parent, ref))
        if null:
            nullable.add(f"{child}.{col}")
    return edges, nullable


DATASETS = sorted(PG_SCHEMA)


# -- reflection, once per dataset per module --------------------------------------------------------
@pytest.fixture(scope="module")
def reflected(pg_datasets: Callable[[str], str]) -> Callable[[str], tuple[Schema, Plan]]:
    """Getter: (Schema, Plan) of a dataset loaded in PostgreSQL, reflected (with profiling) once."""
    cache: dict[str, tuple[Schema, Plan]] = {}

    def get(name: str) -> tuple[Schema, Plan]:
        if name not in cache:
            schema = reflect(pg_datasets(name), schema=PG_SCHEMA[name])
            cache[name] = (schema, plan(schema))
        return cache[name]

    return get


@contextmanager
def captured_statements() -> Iterator[list[str]]:
    """Every SQL statement any Engine sends while the block runs."""
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", on_execute)


def fk_count(schema: Schema) -> int:
    return sum(len(t.foreign_keys) for t in schema.tables)


def self_refs(schema: Schema) -> set[tuple[str, tuple[str, ...]]]:
    return {(t.name, fk.columns) for t in schema.tables for fk in t.foreign_keys if fk.ref_table == t.name}


def nullable_fk_columns(schema: Schema) -> set[str]:
    return {f"{t.name}.{c}" for t in schema.tables for c in t.fk_columns() if t.column(c).nullable}


# -- facts of each dataset --------------------------------------------------------------------------
@pytest.mark.parametrize("name", DATASETS)
def test_reflection_matches_source_facts(reflected, name: str) -> None:
    schema, _ = reflected(name)
    want = EXPECTED[name]
    assert schema.dialect == "postgresql"
    assert schema.schema == PG_SCHEMA[name]
    assert len(schema.tables) == want["tables"]
    assert set(schema.table_names) == set(want["rows"])
    assert fk_count(schema) == want["fks"]
    assert self_refs(schema) == want["self_refs"]
    assert {t.name: t.primary_key for t in schema.tables if len(t.primary_key) > 1} == want["composite_pks"]
    assert {t.name for t in schema.tables if not t.primary_key} == want["without_pk"]

    nullable = nullable_fk_columns(schema)
    assert len(nullable) == want["nullable_fk_count"]
    if want.get("nullable_fk_truncated"):
        assert want["nullable_fk"] - nullable == set()
    else:
        assert nullable == want["nullable_fk"]

    # Small tables are counted exactly (COUNT(*)), never estimated.
    assert {t.name: t.row_count for t in schema.tables} == want["rows"]
    assert [t.name for t in schema.tables if not t.row_count_exact] == []

    # SOURCE.md: no composite FKs, no unique or check constraints, no enums, no domains.
    assert [fk.label for t in schema.tables for fk in t.foreign_keys if len(fk.columns) > 1] == []
    assert [t.name for t in schema.tables if t.unique or t.checks] == []
    assert (schema.enums, schema.domains) == ((), ())


@pytest.mark.parametrize("name", DATASETS)
def test_foreign_keys_match_source_list(reflected, name: str) -> None:
    """Every FK edge (child column -> parent column) and its nullability, as SOURCE.md lists them."""
    schema, _ = reflected(name)
    edges, nullable = source_fks(name)
    got = {
        (t.name, col, fk.ref_table, ref)
        for t in schema.tables
        for fk in t.foreign_keys
        for col, ref in zip(fk.columns, fk.ref_columns, strict=True)
    }
    assert got == edges
    assert nullable_fk_columns(schema) == nullable
    assert len(nullable) == EXPECTED[name]["nullable_fk_count"]


@pytest.mark.parametrize("name", DATASETS)
def test_plan_is_consistent(reflected, name: str) -> None:
    schema, p = reflected(name)
    assert sorted(p.order) == sorted(schema.table_names)  # every table exactly once
    assert set(p.tables) == set(schema.table_names)
    assert p.cycles == ()  # SOURCE.md: no FK cycles besides self-references

    position = {n: i for i, n in enumerate(p.order)}
    cut = {(c.fk.table, c.fk.name) for c in p.cycles}
    late = [
        fk.label
        for t in schema.tables
        for fk in t.foreign_keys
        if fk.ref_table != t.name
        and (t.name, fk.name) not in cut
        and position[fk.ref_table] >= position[t.name]
    ]
    assert late == [], "parents must come before their children in plan.order"

    empty = {n for n, rows in EXPECTED[name]["rows"].items() if rows == 0}
    assert set(p.by_role("empty")) == empty
    assert {n for n in p.order if p[n].self_refs} == {t for t, _ in EXPECTED[name]["self_refs"]}
    assert set(p.without_pk) == EXPECTED[name]["without_pk"]
    for n in p.order:
        tp = p[n]
        assert {fk.name for fk in tp.self_refs} == {
            fk.name for fk in schema.table(n).foreign_keys if fk.ref_table == n
        }
        assert tp.deferred == ()
        if tp.role != "data":
            assert tp.context is None, f"{n} is {tp.role} but has a context"
        if tp.context is not None:
            assert tp.context in schema.table(n).foreign_keys


def test_plan_omop(reflected) -> None:
    _, p = reflected("omop_synthea27nj")
    assert p["concept"].role == "reference"
    assert p["person"].role == "data"
    assert p["person"].context is None
    assert "person" in p.roots


def test_plan_tpch(reflected) -> None:
    _, p = reflected("tpch_sf0001")
    ctx = p["lineitem"].context
    assert ctx is not None
    assert (ctx.ref_table, ctx.columns, ctx.ref_columns) == ("orders", ("l_orderkey",), ("o_orderkey",))


def test_plan_chinook(reflected) -> None:
    _, p = reflected("chinook")
    assert p["invoice_line"].context is not None
    assert p["invoice_line"].context.ref_table == "invoice"
    assert p["playlist_track"].link
    assert [fk.columns for fk in p["employee"].self_refs] == [("reports_to",)]
    assert [n for n in p.order if p[n].link] == ["playlist_track"]


def test_plan_synthea(reflected) -> None:
    _, p = reflected("synthea_csv_11p")
    assert p["encounters"].role == "data"
    assert p["encounters"].context is not None
    assert p["encounters"].context.ref_table == "patients"
    assert "encounters" in p.children("patients")


def test_plan_northwind(reflected) -> None:
    # SOURCE.md: us_states has no relationships; three composite-PK link tables.
    _, p = reflected("northwind")
    assert p.isolated == ("us_states",)
    assert {n for n in p.order if p[n].link} == {
        "order_details",
        "employee_territories",
        "customer_customer_demo",
    }


# -- Chinook in three dialects ---------------------------------------------------------------------
def _norm(identifier: str) -> str:
    """'InvoiceLine' and 'invoice_line' -> 'invoiceline'."""
    return identifier.lower().replace("_", "")


def _cols(cols: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_norm(c) for c in cols)


def graph_signature(schema: Schema, p: Plan) -> dict[str, Any]:
    """The dialect-independent shape of a reflected database and its plan, with normalised names."""
    fks = sorted(
        (_norm(t.name), _cols(fk.columns), _norm(fk.ref_table), _cols(fk.ref_columns))
        for t in schema.tables
        for fk in t.foreign_keys
    )
    return {
        "tables": sorted(_norm(t.name) for t in schema.tables),
        "fks": fks,
        "primary_keys": {_norm(t.name): _cols(t.primary_key) for t in schema.tables},
        "nullable_fk_columns": sorted(_norm(c) for c in nullable_fk_columns(schema)),
        "row_counts": {_norm(t.name): (t.row_count, t.row_count_exact) for t in schema.tables},
        "roles": {_norm(n): tp.role for n, tp in p.tables.items()},
        "context_parents": {
            _norm(n): (_norm(tp.context.ref_table), _cols(tp.context.columns)) if tp.context else None
            for n, tp in p.tables.items()
        },
        "self_refs": sorted(
            (_norm(n), _cols(fk.columns)) for n, tp in p.tables.items() for fk in tp.self_refs
        ),
        "links": sorted(_norm(n) for n, tp in p.tables.items() if tp.link),
        "cycles": len(p.cycles),
    }


@pytest.mark.parametrize("other", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_chinook_same_graph_in_every_dialect(reflected, request: pytest.FixtureRequest, other: str) -> None:
    pg = graph_signature(*reflected("chinook"))
    url = request.getfixturevalue(f"{other}_chinook")
    schema = reflect(url)
    assert schema.dialect == other
    assert graph_signature(schema, plan(schema)) == pg
    # and the PostgreSQL one is the SOURCE.md shape
    assert len(pg["tables"]) == 11
    assert len(pg["fks"]) == 11


# -- reflection only reads ---------------------------------------------------------------------------
_WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|ALTER|DROP|GRANT|REVOKE|COMMENT|VACUUM|ANALYZE|"
    r"REINDEX|CLUSTER|LOCK|COPY|NOTIFY|SELECT\s+nextval|SELECT\s+setval)\b",
    re.IGNORECASE,
)


def _pg_fingerprint(url: str, schema: str) -> dict[str, Any]:
    """A checksum of every table's rows (in PK order) and of the schema's catalog entries."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = conn.dialect.identifier_preparer.quote
            tables = conn.execute(
                sa.text(
                    "SELECT c.relname, array_agg(a.attname ORDER BY array_position(i.indkey, a.attnum)) "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
                    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey) "
                    "WHERE n.nspname = :s AND c.relkind = 'r' GROUP BY c.relname ORDER BY c.relname"
                ),
                {"s": schema},
            ).all()
            out: dict[str, Any] = {}
            for table, pk in tables:
                order = ", ".join(f"t.{q(c)}" for c in pk)
                out[table] = conn.execute(
                    sa.text(
                        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) "
                        f"FROM {q(schema)}.{q(table)} t"
                    )
                ).one()
            out["-catalog"] = conn.execute(
                sa.text(
                    "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM ("
                    "  SELECT concat_ws(':', c.relname, c.relkind, a.attname,"
                    "    format_type(a.atttypid, a.atttypmod), a.attnotnull) AS x"
                    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                    "  WHERE n.nspname = :s"
                    "  UNION ALL SELECT concat_ws(':', k.conrelid::regclass, k.conname,"
                    "    pg_get_constraintdef(k.oid))"
                    "  FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace"
                    "  WHERE n.nspname = :s"
                    "  UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = :s"
                    ") q"
                ),
                {"s": schema},
            ).scalar_one()
            return out
    finally:
        engine.dispose()


def test_reflection_is_read_only(pg_datasets: Callable[[str], str]) -> None:
    url = pg_datasets("chinook")
    before = _pg_fingerprint(url, "public")
    assert len(before) == 11 + 1  # every Chinook table has a PK, so each is checksummed
    with captured_statements() as statements:
        schema = reflect(url, schema="public")  # with profiling: it reads rows too
    after = _pg_fingerprint(url, "public")
    assert len(schema.tables) == 11
    assert statements, "the statement listener saw nothing"
    assert [s for s in statements if _WRITE.match(s)] == []
    assert after == before


# -- reflection is cheap -----------------------------------------------------------------------------
def test_reflection_issues_few_statements(pg_datasets: Callable[[str], str]) -> None:
    """Catalog queries are one per kind of object, not one per table; at most one COUNT(*) per table."""
    url = pg_datasets("omop_synthea27nj")
    with captured_statements() as statements:  # inferring undeclared keys reads data: test_infer.py
        schema = reflect(url, schema="cdm", profile=False, infer_keys=False)
    n_tables = len(schema.tables)
    assert n_tables == 39
    counts = [s for s in statements if re.match(r"\s*SELECT\s+count\(\*\)", s, re.IGNORECASE)]
    catalog = len(statements) - len(counts)
    print(
        f"\nreflecting OMOP ({n_tables} tables, profile=False): {len(statements)} SQL statements, "
        f"{len(counts)} COUNT(*) and {catalog} others"
    )
    assert len(counts) <= n_tables
    # The catalog part must not grow with the number of tables: compare with a one-table reflection.
    with captured_statements() as few:
        reflect(url, schema="cdm", profile=False, include=("person",), infer_keys=False)
    few_catalog = len([s for s in few if not re.match(r"\s*SELECT\s+count\(\*\)", s, re.IGNORECASE)])
    print(f"one table: {few_catalog} catalog statements")
    assert catalog <= few_catalog + 3
    assert catalog <= 32  # one query per kind of object (row-level security's policies: 31)
