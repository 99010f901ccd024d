"""The ``postgres_dsn`` fixture yields a database we can really talk to."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.postgres


def test_select_one(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as connection:
        row = connection.execute("select 1").fetchone()
    assert row == (1,)


def test_role_can_create_tables(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute("create temporary table probe (id int primary key)")
        connection.execute("insert into probe values (7)")
        row = connection.execute("select id from probe").fetchone()
    assert row == (7,)
