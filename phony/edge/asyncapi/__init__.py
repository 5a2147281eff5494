"""The AsyncAPI 3 document of Phony's Kafka topics and events WebSocket, and a page that shows it."""

from phony.edge.asyncapi.document import asyncapi_document
from phony.edge.asyncapi.page import render_page

__all__ = ["asyncapi_document", "render_page"]
