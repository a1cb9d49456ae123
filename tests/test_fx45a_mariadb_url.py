"""Attack round 45a, item 4: MariaDB URL options that were ignored, or silently won.

SQLAlchemy hands every option of a MySQL/MariaDB URL's query to the driver as a keyword: PyMySQL
ignored ?db= beside the database in the path, while ?database= replaced it (the run read another
database than the one its lines named), as ?user= replaced the URL's user; ?compress= was an
internal error (NotImplementedError). Each is now one line saying what to write instead, before
any connection.
"""

from __future__ import annotations

import pytest

import relsynth
from relsynth.errors import ConnectionFailed
from tests.conftest import run_sql

# A port nothing listens on: the refusal comes before any connection is tried.
NOWHERE = "mysql+pymysql://root@127.0.0.1:1/app"


@pytest.mark.parametrize(
    "option, said",
    [
        ("db=other", r"\?db= names the database, which is the URL's path"),
        ("database=other", r"\?database= names the database, which is the URL's path"),
        ("user=nobody", r"\?user= sets the username, which the URL already gives"),
        ("port=3307", r"\?port= sets the port, which the URL already gives"),
        ("compress=true", r"\?compress= is not supported by the pymysql driver"),
    ],
)
def test_an_option_the_url_already_gives_or_the_driver_ignores_is_refused(option: str, said: str) -> None:
    with pytest.raises(ConnectionFailed, match=said) as err:
        relsynth.reflect(f"{NOWHERE}?{option}")
    assert "\n" not in str(err.value)


@pytest.mark.mysql
def test_options_the_driver_takes_still_work(mysql_db) -> None:  # type: ignore[no-untyped-def]
    url = mysql_db()
    run_sql(url, "CREATE TABLE t (id INT PRIMARY KEY);")
    schema = relsynth.reflect(f"{url}?charset=utf8mb4&connect_timeout=5")
    assert schema.table_names == ("t",)
    database = url.rsplit("/", 1)[1]
    with pytest.raises(ConnectionFailed, match=r"\?db= names the database"):
        relsynth.reflect(f"{url.rsplit('/', 1)[0]}/mysql?db={database}")  # which one was meant?
