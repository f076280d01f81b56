"""TEMPORARY: a fresh database per test on the lead's dev server (replaced by tests/pg_server.py)."""

import asyncio
import itertools
import os

import asyncpg
import pytest

BASE = os.environ.get("DOITHOAI_TEST_POSTGRES", "postgresql://doithoai@/postgres?host=/tmp/pgdev/sock")
_numbers = itertools.count()


@pytest.fixture
def pg_url() -> str:
    name = f"t_{os.getpid()}_{next(_numbers)}"

    async def create() -> None:
        raw = await asyncpg.connect(BASE)
        await raw.execute(f"DROP DATABASE IF EXISTS {name}")
        await raw.execute(f"CREATE DATABASE {name}")
        await raw.close()

    asyncio.run(create())
    return BASE.replace("/postgres?", f"/{name}?")
