"""``phony rebuild``: drop the read models and project the whole log again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient

from phony.config import Settings
from phony.events.log import LoggedEvent, read_log
from phony.projections.documents import READ_MODELS, init_read_models
from phony.projections.projector import SeqMemory, apply


async def rebuild(
    settings: Settings,
    client: AsyncMongoClient[dict[str, Any]],
    passed: Callable[[LoggedEvent], None] | None = None,
) -> int:
    """Drop every read-model collection of the configured database, recreate them with their
    indexes, and re-apply every event from offset 0, telling ``passed`` of each event read (for a
    progress report). Returns the number of events applied."""
    database = client[settings.mongodb_db]
    for model in READ_MODELS:
        await database.drop_collection(model.Settings.name)
    await init_read_models(client, settings)
    count = 0
    memory = SeqMemory()
    async for logged in read_log(settings):
        if await apply(logged.event, memory):
            count += 1
        if passed is not None:
            passed(logged)
    return count
