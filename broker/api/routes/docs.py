"""``GET /v1/openapi.json`` and ``GET /docs``: the API describing itself.

The page is rendered once from the OpenAPI document into one self-contained
HTML file: inline CSS, no script, nothing fetched from elsewhere, so it reads
the same offline. Every text taken from the document is escaped.
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

from aiohttp import web

from broker.api.openapi import document, document_json

routes = web.RouteTableDef()

Doc = dict[str, Any]

METHODS = ("get", "post", "put", "patch", "delete")
_MAX_DEPTH = 4
_CODE = re.compile(r"`+([^`]+)`+")
_CONSTRAINTS = (
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMinimum", "> {}"),
    ("minLength", "length ≥ {}"),
    ("maxLength", "length ≤ {}"),
    ("maxItems", "≤ {} items"),
    ("pattern", "matches {}"),
    ("default", "default {}"),
)
_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;color:#1d2330;margin:0 auto;
max-width:62rem;padding:1rem 1.5rem 4rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d7dce5;padding-top:1rem}
h3{margin:.2rem 0}h4{margin:.8rem 0 .3rem}
code{font:13px ui-monospace,monospace;background:#f0f2f6;padding:0 .25rem;
border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{text-align:left;vertical-align:top;border-bottom:1px solid #e3e6ec;
padding:.25rem .5rem}
.op,.schema{border:1px solid #d7dce5;border-radius:6px;padding:.6rem 1rem;
margin:1rem 0}
.method{display:inline-block;min-width:4.2rem;text-align:center;color:#fff;
border-radius:3px;font:bold 13px ui-monospace,monospace;padding:.1rem .3rem}
.get{background:#2f6fb3}.post{background:#2e8b57}.delete{background:#b3392f}
.put,.patch{background:#a66b00}
.type{color:#5b3b8c}.req{color:#b3392f;font-size:12px}.muted{color:#687083}
ul.fields{list-style:none;padding-left:1.2rem;margin:.2rem 0}
ul.fields ul.fields{border-left:1px dotted #c3c8d2}
dt{margin-top:.5rem}
"""


@routes.get("/v1/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the whole API."""
    return web.Response(body=document_json(), content_type="application/json")


@routes.get("/docs")
async def docs(request: web.Request) -> web.Response:
    """The API documentation as one HTML page."""
    return web.Response(text=docs_html(), content_type="text/html")


@functools.cache
def docs_html() -> str:
    """The documentation page of the served OpenAPI document."""
    return render(document())


def render(doc: Doc) -> str:
    """A self-contained HTML page describing an OpenAPI document."""
    info = doc["info"]
    title = escape(info["title"])
    tags: list[Doc] = doc.get("tags", [])
    sections = [_tag_section(doc, tag) for tag in tags]
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{title}</title><style>{_STYLE}</style></head><body>",
            f"<header><h1>{title}</h1><p class=muted>Version "
            f"{escape(info['version'])} · OpenAPI {escape(doc['openapi'])} · "
            '<a href="/v1/openapi.json">openapi.json</a></p>',
            _prose(info.get("description", "")),
            _contents([t["name"] for t in tags]),
            "</header><main>",
            *sections,
            _schemas_section(doc),
            _problems_section(doc),
            "</main></body></html>\n",
        ]
    )


def _prose(text: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{_inline(p)}</p>" for p in paragraphs)


def _inline(text: str) -> str:
    return _CODE.sub(r"<code>\1</code>", escape(text))


def _contents(tags: list[str]) -> str:
    links = [f'<li><a href="#tag-{escape(t)}">{escape(t)}</a></li>' for t in tags]
    links.append('<li><a href="#schemas">Schemas</a></li>')
    links.append('<li><a href="#problem-types">Problem types</a></li>')
    return f"<nav><h2>Contents</h2><ul>{''.join(links)}</ul></nav>"


def _operations(doc: Doc, tag: str) -> list[tuple[str, str, Doc]]:
    return [
        (method, path, item[method])
        for path, item in doc["paths"].items()
        for method in METHODS
        if method in item and tag in item[method].get("tags", [])
    ]


def _tag_section(doc: Doc, tag: Doc) -> str:
    name = tag["name"]
    ops = [_operation(doc, m, p, op) for m, p, op in _operations(doc, name)]
    return (
        f'<section id="tag-{escape(name)}"><h2>{escape(name)}</h2>'
        f"{_prose(tag.get('description', ''))}{''.join(ops)}</section>"
    )


def _operation(doc: Doc, method: str, path: str, op: Doc) -> str:
    security = op.get("security", doc.get("security", []))
    access = "Needs an API key." if security else "Public: no API key needed."
    parts = [
        f'<article class="op" id="op-{escape(op["operationId"])}">',
        f'<h3><span class="method {method}">{method.upper()}</span> '
        f"<code>{escape(path)}</code></h3>",
        f"<p><strong>{escape(op.get('summary', ''))}</strong> "
        f"<span class=muted>{access}</span></p>",
        _prose(op.get("description", "")),
    ]
    if op.get("parameters"):
        parts.append(_parameters(doc, op["parameters"]))
    if "requestBody" in op:
        parts.append(_request_body(doc, _resolve(doc, op["requestBody"])))
    parts.append(_responses(doc, op["responses"]))
    parts.append("</article>")
    return "".join(parts)


def _parameters(doc: Doc, params: list[Doc]) -> str:
    rows = []
    for raw in params:
        param = _resolve(doc, raw)
        required = "yes" if param.get("required") else "no"
        rows.append(
            f"<tr><td><code>{escape(param['name'])}</code></td>"
            f"<td>{escape(param['in'])}</td>"
            f"<td>{_type_of(doc, param.get('schema', {}))}"
            f"{_constraints(param.get('schema', {}))}</td>"
            f"<td>{required}</td><td>{_inline(param.get('description', ''))}</td></tr>"
        )
    return (
        "<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th>"
        f"<th>Required</th><th>Description</th></tr>{''.join(rows)}</table>"
    )


def _request_body(doc: Doc, body: Doc) -> str:
    parts = ["<h4>Request body</h4>"]
    for media, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        needed = ", required" if body.get("required") else ""
        parts.append(
            f"<p><code>{escape(media)}</code>{needed}: {_type_of(doc, schema)}</p>"
        )
        parts.append(_fields(doc, schema, expand=True, depth=0))
    return "".join(parts)


def _responses(doc: Doc, responses: Doc) -> str:
    rows = []
    for status, raw in responses.items():
        answer = _resolve(doc, raw)
        content = "<br>".join(
            f"<code>{escape(media)}</code> {_type_of(doc, c.get('schema', {}))}"
            for media, c in answer.get("content", {}).items()
        )
        headers = ", ".join(
            f"<code>{escape(h)}</code>" for h in answer.get("headers", {})
        )
        rows.append(
            f"<tr><td><strong>{escape(status)}</strong></td>"
            f"<td>{_inline(answer.get('description', ''))}</td>"
            f"<td>{content}</td><td>{headers}</td></tr>"
        )
    return (
        "<h4>Responses</h4><table><tr><th>Status</th><th>Meaning</th>"
        f"<th>Body</th><th>Headers</th></tr>{''.join(rows)}</table>"
    )


def _schemas_section(doc: Doc) -> str:
    parts = ['<section id="schemas"><h2>Schemas</h2>']
    for name, schema in doc["components"]["schemas"].items():
        parts.append(
            f'<article class="schema" id="schema-{escape(name)}">'
            f"<h3>{escape(name)}</h3>{_prose(schema.get('description', ''))}"
            f"{_fields(doc, schema, expand=False, depth=0)}</article>"
        )
    parts.append("</section>")
    return "".join(parts)


def _problems_section(doc: Doc) -> str:
    items = []
    for problem in doc.get("x-problem-types", []):
        code = escape(problem["code"])
        status = problem.get("status")
        shown = f"status {status}" if status else "any error status"
        items.append(
            f'<dt id="problem-{code}"><code>{code}</code> '
            f"<span class=muted>{escape(shown)}</span></dt>"
            f"<dd>{_inline(problem.get('description', ''))}</dd>"
        )
    return (
        '<section id="problem-types"><h2>Problem types</h2>'
        "<p>Each problem answer's <code>type</code> is "
        "<code>/docs#problem-CODE</code>, one of these.</p>"
        f"<dl>{''.join(items)}</dl></section>"
    )


def _resolve(doc: Doc, node: Doc) -> Doc:
    """Follow a local ``$ref`` (``#/a/b``) to what it names."""
    seen = 0
    while "$ref" in node and seen < 16:
        target: Any = doc
        for key in node["$ref"].removeprefix("#/").split("/"):
            target = target[key.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


def _fields(doc: Doc, schema: Doc, *, expand: bool, depth: int) -> str:
    resolved = _resolve(doc, schema)
    properties: Doc = resolved.get("properties", {})
    if not properties:
        return ""
    required = set(resolved.get("required", []))
    rows = []
    for name, prop in properties.items():
        marker = " <span class=req>required</span>" if name in required else ""
        text = _inline(prop.get("description", ""))
        nested = ""
        inner = _nested_object(doc, prop)
        if expand and inner is not None and depth < _MAX_DEPTH:
            nested = _fields(doc, inner, expand=True, depth=depth + 1)
        rows.append(
            f"<li><code>{escape(name)}</code> {_type_of(doc, prop)}{marker}"
            f"{_constraints(prop)} {text}{nested}</li>"
        )
    return f"<ul class=fields>{''.join(rows)}</ul>"


def _nested_object(doc: Doc, prop: Doc) -> Doc | None:
    """The object schema a property holds, directly, in a list, or nullable."""
    if "items" in prop:
        return _nested_object(doc, prop["items"])
    choices = [c for c in prop.get("anyOf", []) if c.get("type") != "null"]
    if len(choices) == 1:
        return _nested_object(doc, choices[0])
    resolved = _resolve(doc, prop)
    return resolved if resolved.get("properties") else None


def _type_of(doc: Doc, schema: Doc) -> str:
    if "$ref" in schema:
        name = escape(schema["$ref"].rsplit("/", 1)[-1])
        return f'<a class=type href="#schema-{name}">{name}</a>'
    if "anyOf" in schema:
        return " | ".join(_type_of(doc, choice) for choice in schema["anyOf"])
    if "const" in schema:
        return f"<code>{escape(str(schema['const']))}</code>"
    if "enum" in schema:
        values = ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
        return f"<span class=type>one of</span> {values}"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"<span class=type>array of</span> {_type_of(doc, schema['items'])}"
    extra = schema.get("additionalProperties")
    if kind == "object" and isinstance(extra, dict):
        return f"<span class=type>map of</span> {_type_of(doc, extra)}"
    shown = f"{kind} ({schema['format']})" if "format" in schema else str(kind)
    return f"<span class=type>{escape(shown)}</span>"


def _constraints(schema: Doc) -> str:
    found = [
        form.format(_literal(part[key]))
        for part in (schema, *schema.get("anyOf", []))
        for key, form in _CONSTRAINTS
        if part.get(key) is not None
    ]
    return f" <span class=muted>({escape('; '.join(found))})</span>" if found else ""


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
