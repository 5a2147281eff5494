"""The AsyncAPI 3.0.0 document of what flows on Kafka and on the events WebSocket, assembled from the
code's registries (see :mod:`phony.edge.asyncapi.messages`) for one deployment's settings.

FastStream can describe a broker's subscribers (``faststream.specification.AsyncAPI``), but Phony's
subscribers take raw records (``phony.events.log.raw_records``: one consumer reads commands and audio
in batches and parses them itself), so FastStream would see one untyped payload per topic. The messages
are built from the event registry, the command union and pydantic's JSON schemas instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from phony.config import Settings
from phony.edge.asyncapi import kafka, websocket
from phony.edge.asyncapi.components import Components
from phony.edge.asyncapi.parts import Part

ASYNCAPI_VERSION = "3.0.0"


def _servers(settings: Settings) -> dict[str, Any]:
    public = urlsplit(settings.base_url)
    bootstrap = Settings.model_fields["kafka_bootstrap"].default
    return {
        kafka.SERVER: {
            "host": "{bootstrap}",
            "protocol": "kafka",
            "title": "Kafka",
            "description": "The deployment's brokers (internal: only Phony's processes reach them).",
            "variables": {"bootstrap": {"default": bootstrap, "description": "PHONY_KAFKA_BOOTSTRAP"}},
        },
        websocket.SERVER: {
            "host": public.netloc,
            "protocol": "wss" if public.scheme == "https" else "ws",
            "title": "Phony edge",
            "description": "The public edge (PHONY_PUBLIC_URL), beside the REST API.",
            "security": [
                {"$ref": "#/components/securitySchemes/bearer"},
                {"$ref": "#/components/securitySchemes/token"},
            ],
        },
    }


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <API key>`"},
    "token": {"type": "httpApiKey", "in": "query", "name": "token", "description": "`?token=<API key>`"},
}


def asyncapi_document(settings: Settings, *, version: str) -> dict[str, Any]:
    """The document for ``settings`` (topic names, partitions, public URL); ``version`` is the app's."""
    components = Components()
    parts: list[Part] = [kafka.kafka_part(settings, components), websocket.websocket_part(components)]
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Phony event streams",
            "version": version,
            "description": (
                "What flows on Kafka between Phony's processes (commands, caller audio, the event log) "
                "and what the events WebSocket streams to clients. Generated from the code's registries: "
                "the event registry (every type at its current version), the command union and the "
                "pydantic models' JSON schemas. The REST API is at /openapi.json."
            ),
        },
        "defaultContentType": "application/json",
        "servers": _servers(settings),
        "channels": {k: v for part in parts for k, v in part.channels.items()},
        "operations": {k: v for part in parts for k, v in part.operations.items()},
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "messages": {k: v for part in parts for k, v in part.messages.items()},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
