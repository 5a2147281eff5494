"""Read models on the real MongoDB-API server: processes that start together share one database."""

from __future__ import annotations

import asyncio
import uuid

from phony.config import Settings
from phony.projections.documents import READ_MODELS, ensure_indexes, mongo_client


async def test_processes_starting_together_on_a_fresh_database_all_create_their_indexes(
    settings: Settings,
) -> None:
    database = "fresh" + uuid.uuid4().hex[:12]
    clients = [mongo_client(settings) for _ in range(4)]  # an edge, a worker, a projector, a rebuild

    async def start(client_index: int) -> None:
        db = clients[client_index][database]
        for model in READ_MODELS:
            await ensure_indexes(db[model.Settings.name], getattr(model.Settings, "indexes", []))

    try:
        await asyncio.gather(*(start(i) for i in range(len(clients))))
        db = clients[0][database]
        for model in READ_MODELS:
            wanted = {ix.document["name"] for ix in getattr(model.Settings, "indexes", [])}
            have = {ix["name"] async for ix in await db[model.Settings.name].list_indexes()}
            assert wanted <= have, model.__name__
    finally:
        await clients[0].drop_database(database)
        for client in clients:
            await client.close()
