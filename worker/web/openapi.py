"""``GET /api/v1/openapi.json``: the JSON API described in OpenAPI 3.1, generated from the config
schema's own key tables, so the document lists exactly the fields the config file takes.

It must not read the database or the config file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.config import CHANNELS, MODES, SOURCE_KINDS
from worker.config import checks as c
from worker.config.checks import Check
from worker.config.schema import (
    ARTICLE_KEYS,
    LIST_KEYS,
    MENTION_KEYS,
    SOURCE_KEYS,
    SUBSCRIBER_KEYS,
)

DURATION = {"oneOf": [{"type": "string", "example": "15m"}, {"type": "number", "minimum": 0}]}
STRINGS = {"type": "array", "items": {"type": "string"}}
CHECK_SCHEMAS: dict[Check, dict[str, Any]] = {
    c.as_string: {"type": "string"},
    c.slug: {"type": "string", "pattern": c.SLUG_RE.pattern},
    c.http_url: {"type": "string", "format": "uri", "pattern": "^https?://"},
    c.timezone: {"type": "string", "example": "Asia/Shanghai"},
    c.as_bool: {"type": "boolean"},
    c.positive_int: {"type": "integer", "minimum": 1},
    c.count: {"type": "integer", "minimum": 0},
    c.parse_duration: DURATION,
    c.string_list: STRINGS,
    c.css_selector: {"type": "string", "description": "a CSS selector"},
    c.regex: {"type": "string", "description": "a regular expression"},
    c.quiet_hours: {"type": "string", "example": "22:00-08:00"},
    c.rate_limit: {"type": "string", "example": "20/min"},
}
ENUMS = {"kind": SOURCE_KINDS, "channel": CHANNELS, "mode": MODES}
REQUIRED = {"Source": ["name", "url", "kind"], "Subscriber": ["name", "channel", "url"]}


def object_schema(
    keys: Mapping[str, Check], nested: Mapping[str, str] | None = None
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, check in keys.items():
        if key in ENUMS:
            properties[key] = {"type": "string", "enum": list(ENUMS[key])}
        else:
            properties[key] = dict(CHECK_SCHEMAS.get(check, {"type": "string"}))
    for key, ref in (nested or {}).items():
        properties[key] = {"$ref": f"#/components/schemas/{ref}"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def entry_paths(section: str, model: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model}"}
    body = {"required": True, "content": {"application/json": {"schema": ref}}}
    only = 'only the fields to change; null or "" removes a key'
    patch = {"required": True, "content": {"application/json": {"schema": {
        **ref, "description": only}}}}  # fmt: skip
    one = {"content": {"application/json": {"schema": ref}}}
    name = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    tag = [section]
    return {
        f"/api/v1/{section}": {
            "get": {"summary": f"List the {section}", "tags": tag, "responses": {"200": {
                "description": "the list",
                "content": {"application/json": {"schema": {"type": "array", "items": ref}}},
            }}},
            "post": {"summary": f"Create a {model.lower()} (written to the config file)",
                     "tags": tag, "requestBody": body, "responses": {
                         "201": {"description": "created", **one},
                         "400": error_response("not a JSON object"),
                         "409": error_response("the name is taken"),
                         "422": error_response("a field is wrong: `field` names it"),
                     }},
        },
        f"/api/v1/{section}/{{name}}": {
            "parameters": name,
            "get": {"summary": f"One {model.lower()}", "tags": tag, "responses": {
                "200": {"description": "found", **one}, "404": error_response("no such name")}},
            "patch": {"summary": f"Change fields of a {model.lower()}", "tags": tag,
                      "requestBody": patch, "responses": {
                          "200": {"description": "changed", **one},
                          "404": error_response("no such name"),
                          "422": error_response("a field is wrong: `field` names it")}},
            "delete": {"summary": f"Remove a {model.lower()} (its history is kept)", "tags": tag,
                       "responses": {"204": {"description": "removed"},
                                     "404": error_response("no such name"),
                                     "422": error_response("still named by a subscriber")}},
        },
    }  # fmt: skip


def document() -> dict[str, Any]:
    paths = {**entry_paths("sources", "Source"), **entry_paths("subscribers", "Subscriber")}
    paths["/api/v1/subscribers/{name}/test"] = {"post": {
        "summary": "Send a sample message now, through the delivery ledger",
        "tags": ["subscribers"],
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "delivered", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Trial"}}}},
            "502": {"description": "not delivered: the platform's answer", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Trial"}}}},
            "404": error_response("no such subscriber"),
        },
    }}  # fmt: skip
    paths["/api/v1/sources/detect"] = {"post": {
        "summary": "Recognise a list page's CMS family (or feed, or list); nothing is stored",
        "tags": ["sources"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["url"], "properties": {
                "url": CHECK_SCHEMAS[c.http_url],
                "name": {"type": "string"},
                "pages": {"type": "integer", "minimum": 1, "maximum": 5}}}}}},
        "responses": {
            "200": {"description": "recognised: `config` is the source to create",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Detection"}}}},
            "422": error_response("not recognised, or the page could not be read"),
        },
    }}  # fmt: skip
    schemas = {
        "Source": object_schema(SOURCE_KEYS, {"list": "ListSelectors", "article": "Article"}),
        "ListSelectors": object_schema(LIST_KEYS),
        "Article": object_schema(ARTICLE_KEYS),
        "Subscriber": object_schema(SUBSCRIBER_KEYS, {"mentions": "Mentions"}),
        "Mentions": object_schema(MENTION_KEYS),
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"}, "field": {"type": "string"}}},
        "Trial": {"type": "object", "properties": {
            "outcome": {"type": "string"}, "latency_ms": {"type": "number"},
            "error": {"type": "string"}, "reply": {"type": "string"}}},
        "Detection": {"type": "object", "properties": {
            "kind": {"type": "string"}, "evidence": STRINGS,
            "items": {"type": "array", "items": {"type": "object"}},
            "config": {"$ref": "#/components/schemas/Source"}}},
    }  # fmt: skip
    for model, required in REQUIRED.items():
        schemas[model]["required"] = required
    schemas["Source"]["properties"]["state"] = {"type": "object", "readOnly": True}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "herald API",
            "version": "1",
            "description": "Sources and subscribers, with the same fields as herald.toml. "
            "Every endpoint but this document needs `Authorization: Bearer <[web] api_token>` "
            "(401 without it; 404 everywhere when no token is configured). Bodies are at most "
            "1 MiB (413). `template`, `env:NAME` references and the redacted `***` forms can "
            "only be written in the config file itself (422).",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(document())
