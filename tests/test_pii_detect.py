"""Personal data found by content, at every table, and never copied: detectors on values (no
database), the profile's decision and its reason, generation of the new categories, and an
end-to-end run on SQLite, PostgreSQL and MariaDB where a reference table's phones, a ship_name of
people, a `contact` column and password hashes must reach neither the target nor the model file."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth import pii_detect as d
from relsynth.model.pii import PeopleFactory, PiiModel
from relsynth.profile import profile_table
from relsynth.schema import Column, SqlType, Table
from tests.conftest import run_sql

PEOPLE = [
    "Maria Anders",
    "Thomas Hardy",
    "Ana Trujillo",
    "Hanna Moos",
    "Peter Franken",
    "Yang Wang",
    "Carlos Hernández",
    "Giovanni Rovelli",
    "Palle Ibsen",
    "Karl Jablonski",
    "Liu Wong",
    "Paula Wilson",
    "Jytte Petersen",
    "Hari Kumar",
    "Fatima Haddad",
    "Kenji Sato",
]
CITIES = [
    "London",
    "Paris",
    "Berlin",
    "Madrid",
    "Lisbon",
    "Rome",
    "Vienna",
    "Oslo",
    "Stockholm",
    "Warsaw",
    "Prague",
    "Dublin",
    "Helsinki",
    "Copenhagen",
    "Brussels",
    "Amsterdam",
    "Boston",
    "Chicago",
    "Houston",
    "Phoenix",
    "Seattle",
    "Denver",
    "Orlando",
    "Montreal",
    "Toronto",
]
PRODUCTS = [
    "Chai",
    "Chang",
    "Aniseed Syrup",
    "Chef Anton's Cajun Seasoning",
    "Grandma's Boysenberry Spread",
    "Alice Mutton",
    "Carnarvon Tigers",
    "Ikura",
    "Queso Cabrales",
    "Konbu",
    "Tofu",
    "Pavlova",
    "Teatime Chocolate Biscuits",
    "Sir Rodney's Marmalade",
    "Gustaf's Knäckebröd",
    "Tunnbröd",
    "Guaraná Fantástica",
    "Gorgonzola Telino",
    "Mascarpone Fabioli",
    "Geitost",
    "Sasquatch Ale",
    "Steeleye Stout",
    "Inlagd Sill",
    "Gravad lax",
    "Boston Crab Meat",
]
COMPANIES = [
    "Ernst Handel",
    "Hanari Carnes",
    "Great Lakes Food Market",
    "Island Trading",
    "Seven Seas Imports",
    "Richter Supermarkt",
    "Wellington Importadora",
    "Old World Delicatessen",
    "Rancho grande",
    "Save-a-lot Markets",
    "Folk och fä HB",
    "Franchi S.p.A.",
    "Océano Atlántico Ltda.",
    "Google Inc.",
    "Microsoft Corporation",
    "Banco do Brasil S.A.",
    "JetBrains s.r.o.",
    "Lonesome Pine Restaurant",
    "Bottom-Dollar Markets",
    "Consolidated Holdings",
    "Eastern Connection",
    "Chop-suey Chinese",
]


def _bcrypt(seed: int) -> str:
    alphabet = np.array(list("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    return "$2b$12$" + "".join(np.random.default_rng(seed).choice(alphabet, 53))


def _col(values: list) -> pd.Series:
    return pd.Series(values, dtype=object)


# -- detectors, value by value ------------------------------------------------------------------
def test_checksums() -> None:
    assert d.luhn_valid("4111111111111111") and not d.luhn_valid("4111111111111112")
    assert d.card_number("4111 1111 1111 1111") and d.card_number("5500-0000-0000-0004")
    assert not d.card_number("0.99") and not d.card_number("1234") and not d.card_number("4111111111111112")
    assert d.iban_valid("DE89 3704 0044 0532 0130 00") and d.iban_valid("GB82WEST12345698765432")
    assert not d.iban_valid("GB82 WEST 1234 5698 7654 33")
    assert d.verhoeff_valid("2363") and not d.verhoeff_valid("2364")
    ids = {
        "529.982.247-25": "CPF",
        "44051401359": "PESEL",
        "11010519491231002X": "resident id",
        "12345678Z": "DNI/NIE",
        "X1234567L": "DNI/NIE",
        "RSSMRA85T10A562S": "codice fiscale",
        "811218-9876": "personnummer",
        "AB123456C": "UK NINO",
        "123-45-6789": "US SSN",
    }
    for value, kind in ids.items():
        assert d.national_id_kind(value) == kind, value
    for wrong in ("529.982.247-26", "12345678A", "RSSMRA85T10A562T", "hello", "1.99"):
        assert d.national_id_kind(wrong) is None, wrong


def test_secrets_and_tokens() -> None:
    assert d.secret_kind(_bcrypt(1)) == "bcrypt"
    assert (
        d.secret_kind("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
        == "argon2"
    )
    assert d.secret_kind("pbkdf2_sha256$260000$abcdefgh12345678$" + "A1b2" * 11) == "django"
    assert d.secret_kind("5f4dcc3b5aa765d61d8327deb882cf99") == "hex digest"
    assert d.secret_kind("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8") == "hex digest"
    assert d.secret_kind("sk_live_4eC39HqLyjWDarjtT1zdp7dc") == "token"
    assert d.secret_kind("AKIAIOSFODNN7EXAMPLE") == "aws key"
    for plain in (
        "hello world",
        "ThisIsAVeryLongCamelCaseName1",
        "ORD2023000012345ABCDE",
        "Customer_Reference_Number_2023_01",
        "0b9e0c1e-8f3a-4c55-9d8e-000000000000",
        "1.99",
    ):
        assert d.secret_kind(plain) is None, plain


def test_person_names_by_value() -> None:
    assert d.person_name_kind("Maria Anders") == "full"
    assert d.person_name_kind("Anders, Maria") == "full"
    assert d.person_name_kind("Isabel de Castro") == "full"
    assert d.person_name_kind("Dr. John Smith Jr") == "full"
    assert d.person_name_kind("Wang Wei") == "full"  # family name first
    assert d.person_name_kind("José") == "given"
    assert d.person_name_kind("Smith") == "family"
    for other in ("Mountain View", "Aniseed Syrup", "Rock", "SKU-00012", "the quick brown fox jumps"):
        assert d.person_name_kind(other) is None, other


def test_network_shapes() -> None:
    assert d.ip_address("8.8.8.8") and d.ip_address("2606:4700:4700::1111")
    assert not d.ip_address("10.0.0.1") and not d.ip_address("192.168.1.20") and not d.ip_address("1.2.3")
    assert d.url("https://example.com/a?b=1") and d.url("www.example.org/x")
    assert not d.url("example") and not d.url("mailto:ann@example.org")
    assert d.phone("+1 (555) 010-0199") and not d.phone("2020-01-01") and not d.phone("12345.67")


# -- detectors, a whole column ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "hint", "category"),
    [
        (PEOPLE * 3, None, "person_name"),
        ([f"{p.split()[1]}, {p.split()[0]}" for p in PEOPLE], None, "person_name"),
        (PEOPLE[:6] * 5, "person", "person_name"),
        (CITIES * 2, None, None),
        (PRODUCTS, None, None),
        (PRODUCTS, "name", "org_name"),  # ship_name-like column: names, of people or firms
        (COMPANIES, None, "org_name"),
        (COMPANIES, "org", "org_name"),
        (["Rock", "Jazz", "Blues", "Metal"] * 10, "org", None),  # a few repeated: codes, not firms
        ([_bcrypt(i) for i in range(3)] * 20, None, "secret"),  # a few repeated hashes
        (["5f4dcc3b5aa765d61d8327deb882cf99", "e10adc3949ba59abbe56e057f20f883e"] * 5, None, "secret"),
        (["4111 1111 1111 1111", "5500 0000 0000 0004", "4012 8888 8888 1881"] * 3, None, "payment_card"),
        (["0.99", "1.99", "12.50", "4111 1111 1111 1111"] * 3, None, None),  # one card among prices
        (["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"] * 3, None, "iban"),
        (["529.982.247-25", "111.444.777-35", "123.456.789-09"] * 2, None, "national_id"),
        (["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "151.101.1.69"], None, "ip_address"),
        (["10.0.0.1", "10.0.0.2"] * 10, None, None),
        ([f"https://example.com/u/{i}" for i in range(10)], None, "url"),
        (["https://example.com"] * 20, None, None),  # one link on every row: not anyone's own
        ([f"user{i}@example.org" for i in range(10)], None, "email"),
        (["+1 (555) 010-0100", "(555) 010-0199"] * 5, None, "phone"),
    ],
)
def test_detect_column(values: list, hint: str | None, category: str | None) -> None:
    found, why = d.detect(_col(values), hint=hint)
    assert found == category, why
    if category:
        assert why.startswith("by ") and "%" in why


def test_one_odd_value_marks_nothing() -> None:
    values = [*CITIES, "Maria Anders", _bcrypt(3), "4111 1111 1111 1111", "ann@example.org"]
    assert d.detect(_col(values)) == (None, "")


def test_card_numbers_in_an_integer_column() -> None:
    assert (
        d.card_column(pd.Series([4111111111111111, 5500000000000004, 4012888888881881]))[0] == "payment_card"
    )
    assert d.card_column(pd.Series([4111111111111112, 5500000000000005, 4012888888881882]))[0] is None


# -- the profile: any table, any name, and why --------------------------------------------------
def _profiled(name: str, values: list, table: str = "things") -> Column:
    col = Column(name, SqlType("string", length=200), nullable=True)
    t = Table(table, (Column("id", SqlType("integer"), nullable=False), col), primary_key=("id",))
    return profile_table(t, pd.DataFrame({"id": range(len(values)), name: values})).column(name)


@pytest.mark.parametrize(
    ("name", "values", "table", "category", "says"),
    [
        ("ship_name", PEOPLE * 2, "orders", "person_name", "person names"),
        ("ship_name", COMPANIES * 2, "orders", "org_name", "names of"),
        ("contact", PEOPLE * 2, "accounts", "person_name", "person names"),
        ("handled_by", PEOPLE * 2, "tickets", "person_name", "by content"),
        ("customer_name", COMPANIES, "invoices", "org_name", "organisations"),
        ("customer_name", PEOPLE, "invoices", "person_name", "by column name and content"),
        ("cardholder", PEOPLE, "payments", "person_name", "person names"),
        ("billing_name", PEOPLE, "payments", "person_name", "person names"),
        ("password_hash", [_bcrypt(i) for i in range(3)] * 10, "users", "secret", "bcrypt"),
        ("password", ["hunter2", "letmein", "qwerty"] * 5, "users", "secret", "by column name"),
        ("checksum", ["5f4dcc3b5aa765d61d8327deb882cf99"] * 8, "files", "secret", "hex digests"),
        (
            "card_number",
            ["4111 1111 1111 1111", "5500 0000 0000 0004"] * 4,
            "payments",
            "payment_card",
            "Luhn",
        ),
        ("company_name", COMPANIES[:6], "shippers", "org_name", "organisations"),
        ("phone", ["(503) 555-9831", "(503) 555-3199", "1-800-222-0451"] * 3, "shippers", "phone", "content"),
        # 'ship_address' holds 'ip_address' in its letters: it is still a street address
        (
            "ship_address",
            ["Obere Str. 57", "Avda. de la Constitución 2222", "120 Hanover Sq."] * 4,
            "orders",
            "street_address",
            "by column name",
        ),
    ],
)
def test_profile_detects(name: str, values: list, table: str, category: str | None, says: str) -> None:
    col = _profiled(name, values, table)
    assert col.pii == category, col.pii_reason
    assert says in col.pii_reason


def test_profile_tells_people_from_places_products_and_titles() -> None:
    """In one table: the names of people are found, lists of other things are left alone."""
    n = 2 * len(CITIES)
    frame = pd.DataFrame(
        {
            "id": range(n),
            "ship_name": [PEOPLE[i % len(PEOPLE)] for i in range(n)],
            "ship_city": [CITIES[i % len(CITIES)] for i in range(n)],
            "product_name": [PRODUCTS[i % len(PRODUCTS)] for i in range(n)],
            "contact_title": [
                ["Sales Representative", "Owner", "Order Administrator"][i % 3] for i in range(n)
            ],
        }
    )
    cols = tuple(Column(c, SqlType("string", length=60), nullable=True) for c in frame.columns[1:])
    table = Table("orders", (Column("id", SqlType("integer"), nullable=False), *cols), primary_key=("id",))
    out = profile_table(table, frame)
    found = {c.name: c.pii for c in out.columns}
    assert found == {
        "id": None,
        "ship_name": "person_name",
        "ship_city": None,
        "product_name": None,
        "contact_title": None,
    }


# -- generation: same shape, valid, never the source's ------------------------------------------
def test_generated_values_keep_the_shape_and_nothing_else() -> None:
    rng = np.random.default_rng(4)
    people = PeopleFactory("en_US", 1, 40, None, rng)
    cases = {
        "secret": ([_bcrypt(i) for i in range(3)] * 5, lambda v: d.secret_kind(v) == "bcrypt"),
        "payment_card": (
            ["4111 1111 1111 1111", "5500 0000 0000 0004", "4012 8888 8888 1881"],
            d.card_number,
        ),
        "iban": (
            ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "DE44 5001 0517 5407 3249 31"],
            d.iban_valid,
        ),
        "ip_address": (["8.8.8.8", "1.1.1.1", "2606:4700::1111"], d.ip_address),
        "url": ([f"https://shop.example.com/u/{i}" for i in range(8)], d.url),
        "org_name": (COMPANIES, lambda v: isinstance(v, str) and len(v) > 2),
    }
    for category, (source, valid) in cases.items():
        model = PiiModel.fit(category, _col(source), unique=False)
        state = json.dumps(model.to_state()).casefold()
        assert not any(v.casefold() in state for v in source), category  # nothing of a value kept
        out = people.generate(model, rng)
        assert len(out) == 40 and all(valid(v) for v in out), (category, out[:3])
        assert not {v.casefold() for v in out} & {v.casefold() for v in source}, category


def test_a_repeated_phone_is_not_a_template() -> None:
    """One number on every row: its digits must not become the model's template."""
    model = PiiModel.fit("phone", _col(["(503) 555-9831"] * 30), unique=False)
    assert model.shapes is not None and "555" not in "".join(model.shapes.templates).replace("\\", "")


# -- end to end, on every dialect ---------------------------------------------------------------
KINDS = ["sqlite", "postgresql", "mysql"]
SHIPPER_PHONES = ["(503) 555-9831", "(503) 555-3199", "(503) 555-9931", "1-800-222-0451"]
SHIPPERS = ["Speedy Express", "United Package", "Federal Shipping", "Alliance Shippers"]
HASHES = [_bcrypt(i) for i in range(3)]


def _source_sql() -> str:
    rows = [
        "CREATE TABLE shippers (shipper_id INTEGER PRIMARY KEY, company_name VARCHAR(40) NOT NULL, phone VARCHAR(24));"
    ]
    rows.append(
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, contact VARCHAR(40), password_hash VARCHAR(80), segment VARCHAR(10));"
    )
    rows.append(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(customer_id), "
        "shipper_id INTEGER NOT NULL REFERENCES shippers(shipper_id), ship_name VARCHAR(40), amount NUMERIC(8,2));"
    )
    for i, (name, phone) in enumerate(zip(SHIPPERS, SHIPPER_PHONES, strict=True)):
        rows.append(f"INSERT INTO shippers VALUES ({i + 1}, '{name}', '{phone}');")
    for i in range(40):
        rows.append(
            f"INSERT INTO customers VALUES ({i + 1}, '{PEOPLE[i % 12]}', '{HASHES[i % 3]}', '{['retail', 'trade'][i % 2]}');"
        )
    for i in range(200):
        rows.append(
            f"INSERT INTO orders VALUES ({i + 1}, {i % 40 + 1}, {i % 4 + 1}, '{PEOPLE[(i * 7) % 16]}', {10 + (i * 37) % 500}.25);"
        )
    return "\n".join(rows)


# The columns whose source values must appear nowhere: (table, column, values).
WATCHED = [
    ("shippers", "phone", SHIPPER_PHONES),
    ("shippers", "company_name", SHIPPERS),
    ("customers", "contact", PEOPLE[:12]),
    ("customers", "password_hash", HASHES),
    ("orders", "ship_name", PEOPLE),
]


def _model_strings(path: Path) -> tuple[str, set[str]]:
    """The model file's JSON text and every string in it or in its arrays, case-folded."""
    with zipfile.ZipFile(path) as z:
        text = z.read("model.json").decode("utf-8")
        arrays = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        found: set[str] = set()

        def walk(node: object) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(k)
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
            elif isinstance(node, str):
                found.add(node.casefold())

        walk(json.loads(text))
        for key in arrays.files:
            if arrays[key].dtype.kind in "US":
                found |= {str(v).casefold() for v in arrays[key].ravel()}
    return text.casefold(), found


@pytest.mark.parametrize("kind", KINDS)
def test_personal_data_reaches_neither_target_nor_model(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    make = request.getfixturevalue(fixture)
    source, target = make(), make()
    run_sql(source, _source_sql())

    model = relsynth.fit(source, seed=5)
    path = tmp_path / "m.rsm"
    model.save(path)
    text, strings = _model_strings(path)
    for table, column, values in WATCHED:
        for value in values:
            assert value.casefold() not in strings, (table, column)
            assert len(value) < 8 or value.casefold() not in text, (table, column)

    relsynth.synthesize(source, target, seed=5)
    engine = sa.create_engine(target)
    try:
        for table, column, values in WATCHED:
            out = pd.read_sql_table(table, engine)[column].dropna().astype(str)
            assert len(out), (table, column)
            copied = set(out.str.casefold()) & {v.casefold() for v in values}
            assert not copied, (table, column, len(copied))
        hashes = pd.read_sql_table("customers", engine)["password_hash"].dropna()
        assert hashes.map(d.secret_kind).eq("bcrypt").all()  # the same shape, fresh characters
        orders = pd.read_sql_table("orders", engine)
        assert set(orders["shipper_id"]) <= {1, 2, 3, 4}  # the reference table's keys are kept
    finally:
        engine.dispose()
    assert model.plan["shippers"].role == "reference"  # kept as a table, its personal data generated
    shippers = model.schema.table("shippers")
    assert shippers.column("phone").pii == "phone" and shippers.column("company_name").pii == "org_name"


def test_a_small_reference_table_of_people_is_personal_data() -> None:
    """Four departments with their heads' names, phones and e-mails (found by an attack: below
    five values content was not looked at, and the table was copied verbatim)."""
    from relsynth.pii_detect import detect

    heads = ["Margaret Thornbury", "John Abernathy", "Maria Lopez", "Wei Zhang"]
    phones = ["(212) 555-7781", "(212) 555-7782", "(646) 555-1234", "(718) 555-9876"]
    mails = ["margaret.t@stmungo.org", "j.a@stmungo.org", "maria@x.org", "wz@y.com"]
    assert detect(pd.Series(heads))[0] == "person_name"
    assert detect(pd.Series(phones))[0] == "phone"
    assert detect(pd.Series(mails))[0] == "email"
    assert detect(pd.Series(["Cardiology", "Surgery", "Oncology", "Radiology"]))[0] is None


def test_a_company_mail_domain_is_not_reused() -> None:
    """Everyone at one hospital has an address at its domain: generated e-mails must not say whose
    data this is. A public provider's domain (anyone can have one) keeps its share."""
    source = [f"staff{i}@st-elsewhere-hospital.org" for i in range(20)] + [
        f"p{i}@gmail.com" for i in range(10)
    ]
    model = PiiModel.fit("email", _col(source), unique=True)
    assert "st-elsewhere" not in json.dumps(model.to_state())
    out = PeopleFactory("en_US", 1, 300, None, np.random.default_rng(1)).generate(
        model, np.random.default_rng(1)
    )
    domains = pd.Series([v.split("@")[1] for v in out]).value_counts(normalize=True)
    assert "st-elsewhere-hospital.org" not in domains
    assert 0.2 < domains.get("gmail.com", 0) < 0.5
    assert set(domains.index) <= {"gmail.com", "example.com", "example.org", "example.net"}
