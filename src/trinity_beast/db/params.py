"""The SQL parameter store: ``application_parameters`` and ``application_parameter_profiles``."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from trinity_beast.db.engine import begin, insert_ignoring_conflicts, upsert
from trinity_beast.db.schema import application_parameter_profiles, application_parameters, utcnow
from trinity_beast.params.definitions import PARAMS, format_value
from trinity_beast.params.store import normalise


class SqlParamStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self) -> dict[str, str]:
        table = application_parameters
        async with begin(self.engine) as conn:
            rows = await conn.execute(sa.select(table.c.key, table.c.value))
            return dict(rows.all())

    async def set(self, name: str, text: str) -> str:
        return (await self.set_many({name: text}))[name]

    async def set_many(self, values: Mapping[str, str]) -> dict[str, str]:
        normal = {name: normalise(name, text) for name, text in values.items()}
        if not normal:
            return normal
        now = utcnow()
        async with begin(self.engine) as conn:
            statement = upsert(conn.dialect.name, application_parameters, ["key"],
                               ["value", "updated_at"])
            await conn.execute(statement, [
                {"key": name, "value": value, "description": PARAMS[name].description,
                 "updated_at": now}
                for name, value in normal.items()
            ])
        return normal

    async def seed_defaults(self) -> list[str]:
        async with begin(self.engine) as conn:
            present = set(await conn.scalars(sa.select(application_parameters.c.key)))
            missing = [p for name, p in PARAMS.items() if name not in present]
            if missing:
                now = utcnow()
                insert = insert_ignoring_conflicts(conn.dialect.name, application_parameters,
                                                   ["key"])
                await conn.execute(insert, [
                    {"key": p.name, "value": normalise(p.name, p.default),
                     "description": p.description, "updated_at": now}
                    for p in missing
                ])
        return [p.name for p in missing]

    async def profiles(self) -> dict[str, dict[str, str]]:
        table = application_parameter_profiles
        async with begin(self.engine) as conn:
            rows = await conn.execute(
                sa.select(table.c.profile_name, table.c.qps, table.c.burst, table.c.log_level))
            return {
                name: {"qps": format_value(qps), "burst": format_value(burst),
                       "log_level": log_level}
                for name, qps, burst, log_level in rows
            }
