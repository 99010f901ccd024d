"""``/docs``: the OpenAPI document as a page, made here from the document itself.

FastAPI's own docs pages load Swagger UI or ReDoc from a CDN; on the origin of the
operators' console no third-party script may run, so Amtsweg renders its API reference
server-side: plain HTML, escaped, one stylesheet of its own, no script at all.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

METHODS = ("get", "put", "post", "delete", "patch")

STYLESHEET = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
h3 { font-family: ui-monospace, monospace; font-size: 1rem; margin-bottom: .25rem; }
.method { display: inline-block; min-width: 4.5rem; font-weight: bold; }
pre { background: #f4f4f4; padding: .75rem; overflow-x: auto; font-size: 13px; }
details { margin: .25rem 0 .75rem; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; vertical-align: top; }
"""


def mount_docs(app: FastAPI) -> None:
    """``GET /docs`` (the page) and ``GET /docs/docs.css``; ``/openapi.json`` stays."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(render(app.openapi()))

    @app.get("/docs/docs.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return Response(STYLESHEET, media_type="text/css")


def render(document: dict[str, Any]) -> str:
    """The page of an OpenAPI document: every operation with its parameters, request
    body and answers; the schemas at the end."""
    info = document.get("info", {})
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    sections = [
        _operation(path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    ]
    schemas = document.get("components", {}).get("schemas", {})
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title><link rel="stylesheet" href="/docs/docs.css"></head><body>'
        f"<h1>{title}</h1><p>{escape(info.get('description', ''))}</p>"
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>.</p>'
        "<h2>Operations</h2>"
        + "".join(sections)
        + "<h2>Schemas</h2>"
        + "".join(_details(escape(name), schema) for name, schema in schemas.items())
        + "</body></html>"
    )


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    heading = f'<h3><span class="method">{method.upper()}</span> {escape(path)}</h3>'
    summary = operation.get("summary") or ""
    description = operation.get("description") or ""
    parts = [heading, f"<p><strong>{escape(summary)}</strong> {escape(description)}</p>"]
    parameters = operation.get("parameters", [])
    if parameters:
        rows = "".join(
            f"<tr><td>{escape(str(p.get('name')))}</td><td>{escape(str(p.get('in')))}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td>{escape(str(p.get('description', '')))}</td></tr>"
            for p in parameters
        )
        parts.append(
            f"<table><tr><th>parameter</th><th>in</th><th>required</th><th></th></tr>{rows}</table>"
        )
    body = operation.get("requestBody")
    if body:
        parts.append(_details("request body", body))
    for status, answer in operation.get("responses", {}).items():
        label = f"{escape(str(status))} {escape(answer.get('description', ''))}"
        parts.append(_details(label, answer))
    return "".join(parts)


def _details(summary: str, value: Any) -> str:
    """A collapsed block with ``value`` as indented JSON; ``summary`` is already escaped."""
    shown = escape(json.dumps(value, indent=2, ensure_ascii=False))
    return f"<details><summary>{summary}</summary><pre>{shown}</pre></details>"
