"""A code list that only link tables point at (post_tag -> tag, five tags): taken for data, its
labels were each one row's, withheld as rare and generated ('ehltrp'); and a post's second draw
of the same tag repeated the link's key and was dropped (12% of the links)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import relsynth

TAGS = ["python", "databases", "privacy", "statistics", "devops"]


def _blog(path: Path) -> None:
    rng = random.Random(2)
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT, email TEXT);
        CREATE TABLE post (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id),
                           title TEXT, created DATE, views INTEGER);
        CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);
        CREATE TABLE post_tag (post_id INTEGER REFERENCES post(id), tag_id INTEGER REFERENCES tag(id),
                               PRIMARY KEY (post_id, tag_id));
        """
    )
    con.executemany("INSERT INTO tag VALUES (?, ?)", list(enumerate(TAGS, start=1)))
    post = 0
    for a in range(1, 201):
        con.execute("INSERT INTO author VALUES (?, ?, ?)", (a, f"Author {a}", f"a{a}@example.org"))
        for _ in range(rng.randint(1, 6)):
            post += 1
            day = f"2021-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            con.execute(
                "INSERT INTO post VALUES (?, ?, ?, ?, ?)", (post, a, f"T{post}", day, rng.randint(0, 5000))
            )
            for t in rng.sample(range(1, 6), rng.randint(1, 3)):
                con.execute("INSERT INTO post_tag VALUES (?, ?)", (post, t))
    con.commit()
    con.close()


def test_a_tag_list_only_link_tables_point_at_is_copied_and_every_link_kept(tmp_path: Path) -> None:
    src = tmp_path / "blog.db"
    _blog(src)
    url = f"sqlite:///{src}"
    model = relsynth.fit(url, seed=0)
    assert model.plan["tag"].role == "reference"
    out = relsynth.sample(model, seed=0)
    assert sorted(out["tag"]["label"]) == sorted(TAGS)
    links = out["post_tag"]
    con = sqlite3.connect(src)
    source_links = con.execute("SELECT count(*) FROM post_tag").fetchone()[0]
    con.close()
    assert len(links) == source_links  # none dropped: a repeated tag of a post took another
    assert not links.duplicated(["post_id", "tag_id"]).any()
    assert set(links["tag_id"]) <= set(range(1, 6))
    per_post = links.groupby("post_id").size()
    assert per_post.max() <= 3
