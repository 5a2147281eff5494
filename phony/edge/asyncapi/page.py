"""A readable, self-contained HTML page of an AsyncAPI document (nothing fetched at run time): the
servers, channels, operations, and each message with its payload as tables of fields."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from phony.edge.asyncapi.components import REF_TEMPLATE

SCHEMA_PREFIX = REF_TEMPLATE.format(model="")
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 1.5rem 4rem;color:#1d2330}
h1{margin-top:2rem}h2{border-bottom:2px solid #d8dde6;padding-bottom:.3rem;margin-top:2.5rem}
h3{margin:1.8rem 0 .3rem}code{background:#f1f3f7;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:14px}
th,td{border:1px solid #d8dde6;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f7}.tag{font-size:12px;padding:.05rem .4rem;border-radius:3px;background:#e4e9f2}
.send{background:#dff3e4}.receive{background:#e2ecfb}.internal{background:#fbe9d9}
nav a{margin-right:.8rem}.desc{white-space:pre-line}.muted{color:#5c6678}
"""


def _grid(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """A table: ``head`` escaped, cells as given (already HTML)."""
    top = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{body}</table>"


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-{name}".replace("/", "-")


def _ref_name(schema: dict[str, Any]) -> str | None:
    target = schema.get("$ref")
    if isinstance(target, str) and target.startswith(SCHEMA_PREFIX):
        return target.removeprefix(SCHEMA_PREFIX)
    return None


def _type(schema: dict[str, Any]) -> str:
    """A short, linked description of a schema's type."""
    name = _ref_name(schema)
    if name is not None:
        return f'<a href="#{_anchor("schema", name)}">{escape(name)}</a>'
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return " | ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        if isinstance(items, list):
            return "[" + ", ".join(_type(s) for s in items) + "]"
        return f"array of {_type(items)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type(schema['additionalProperties'])}"
    text = escape(str(kind or "any"))
    if "format" in schema:
        text += f" ({escape(schema['format'])})"
    return text


def _notes(schema: dict[str, Any]) -> str:
    notes = []
    if schema.get("description"):
        notes.append(escape(schema["description"]))
    if "default" in schema:
        notes.append(f"default <code>{escape(json.dumps(schema['default']))}</code>")
    for key in ("pattern", "minimum", "maximum", "exclusiveMinimum", "maxLength", "minLength"):
        if key in schema:
            notes.append(f"{key} <code>{escape(str(schema[key]))}</code>")
    return "; ".join(notes)


def _merged(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """An ``allOf`` of object schemas as one object schema (later parts override properties)."""
    if "allOf" not in schema:
        name = _ref_name(schema)
        return schemas.get(name, {}) if name else schema
    merged: dict[str, Any] = {"properties": {}, "required": []}
    for part in schema["allOf"]:
        part = _merged(part, schemas)
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += [r for r in part.get("required", []) if r not in merged["required"]]
    return merged


def _table(schema: dict[str, Any]) -> str:
    """The fields of an object schema (or the positions of a tuple-like array) as a table."""
    properties: dict[str, Any] = schema.get("properties", {})
    items = schema.get("items")
    if not properties and isinstance(items, list):  # a JSON array of positional fields
        rows = [
            (str(i), f"<code>{escape(s.get('title', ''))}</code>", _type(s), _notes(s))
            for i, s in enumerate(items)
        ]
        return _grid(("#", "field", "type", "notes"), rows)
    if not properties:
        notes = _notes(schema)
        return f'<p class="muted">{_type(schema)}{"; " + notes if notes else ""}</p>'
    required = set(schema.get("required", []))
    rows = [
        (f"<code>{escape(name)}</code>", _type(prop), "yes" if name in required else "", _notes(prop))
        for name, prop in properties.items()
    ]
    return _grid(("field", "type", "required", "notes"), rows)


def _internal(obj: dict[str, Any]) -> str:
    return ' <span class="tag internal">internal</span>' if obj.get("x-internal") else ""


def _message(mid: str, message: dict[str, Any], schemas: dict[str, Any]) -> str:
    """A message's heading, description and payload fields, then the fields of each schema a field
    refers to (an event's ``data``, a command's agent settings)."""
    payload = _merged(message.get("payload", {}), schemas)
    nested = "".join(
        f"<p><code>{escape(name)}</code>: {_type(prop)}</p>{_table(schemas[ref])}"
        for name, prop in payload.get("properties", {}).items()
        if (ref := _ref_name(prop)) in schemas and ref is not None
    )
    return (
        f'<h3 id="{_anchor("message", mid)}"><code>{escape(message.get("name", mid))}</code> '
        f'<span class="muted">{escape(message.get("title", ""))}</span>{_internal(message)}</h3>'
        f'<p class="desc">{escape(message.get("description", message.get("summary", "")))}</p>'
        f"{_table(payload)}{nested}"
    )


def _channels(doc: dict[str, Any]) -> str:
    out = []
    for cid, channel in doc["channels"].items():
        bindings = escape(json.dumps(channel.get("bindings", {}), indent=1))
        mids = [ref["$ref"].rsplit("/", 1)[-1] for ref in channel["messages"].values()]
        names = {mid: escape(doc["components"]["messages"][mid]["name"]) for mid in mids}
        links = ", ".join(f'<a href="#{_anchor("message", mid)}">{names[mid]}</a>' for mid in mids)
        codes = [
            (str(c["code"]), escape(c["name"]), escape(c["when"])) for c in channel.get("x-close-codes", [])
        ]
        close = _grid(("close code", "", "when"), codes) if codes else ""
        out.append(
            f'<h3 id="{_anchor("channel", cid)}">'
            f"<code>{escape(channel['address'])}</code>{_internal(channel)}</h3>"
            f'<p class="desc">{escape(channel.get("description", ""))}</p>{close}'
            f"<details><summary>bindings</summary><pre>{bindings}</pre></details>"
            f"<p>Messages: {links}</p>"
        )
    return "".join(out)


def _operations(doc: dict[str, Any]) -> str:
    rows = []
    for oid, op in doc["operations"].items():
        cid = op["channel"]["$ref"].rsplit("/", 1)[-1]
        address = escape(doc["channels"][cid]["address"])
        rows.append(
            (
                f"<code>{escape(oid)}</code>",
                f'<span class="tag {op["action"]}">{op["action"]}</span>',
                f'<a href="#{_anchor("channel", cid)}">{address}</a>',
                escape(op.get("summary", "")),
                str(len(op["messages"])),
            )
        )
    return _grid(("operation", "action", "channel", "by", "messages"), rows)


def render_page(doc: dict[str, Any]) -> str:
    """The whole page for ``doc`` (an AsyncAPI 3 document as :func:`asyncapi_document` builds it)."""
    schemas: dict[str, Any] = doc["components"]["schemas"]
    servers = _grid(
        ("server", "protocol", "host", ""),
        [
            (
                f"<code>{escape(sid)}</code>",
                escape(s["protocol"]),
                f"<code>{escape(s['host'])}</code>",
                escape(s.get("description", "")),
            )
            for sid, s in doc["servers"].items()
        ],
    )
    messages = "".join(_message(mid, m, schemas) for mid, m in doc["components"]["messages"].items())
    components = "".join(
        f'<h3 id="{_anchor("schema", name)}"><code>{escape(name)}</code></h3>{_table(schema)}'
        for name, schema in schemas.items()
    )
    title, version = escape(doc["info"]["title"]), escape(doc["info"]["version"])
    links = [("/asyncapi.json", f"AsyncAPI {doc['asyncapi']} JSON"), ("/docs", "REST API")]
    links += [(f"#{s}", s.title()) for s in ("servers", "channels", "operations", "messages", "schemas")]
    nav = "".join(f'<a href="{href}">{escape(text)}</a>' for href, text in links)
    sections = {
        "servers": servers,
        "channels": _channels(doc),
        "operations": _operations(doc),
        "messages": messages,
        "schemas": components,
    }
    body = "".join(f'<h2 id="{sid}">{sid.title()}</h2>{html}' for sid, html in sections.items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} — AsyncAPI</title>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f'<h1>{title} <span class="muted">{version}</span></h1>'
        f"<p>{escape(doc['info'].get('description', ''))}</p><nav>{nav}</nav>{body}</body></html>"
    )
