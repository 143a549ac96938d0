"""The event log's JSON Schema (draft 2020-12), made from the declarations of `payloads.py`.

`shopsim schema --log` prints it and docs/event-log.schema.json is its committed copy. Every line must match
exactly one type's definition: every declared key present (null only where declared), no other key.
"""

from __future__ import annotations

from typing import Any

from shopsim.contract.payloads import COMMON, PAYLOADS, Field

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def field_schema(f: Field) -> dict[str, Any]:
    """One field's JSON Schema, nested objects and array elements included."""
    out: dict[str, Any] = {"type": [f.type, "null"] if f.nullable else f.type, "description": f.meaning}
    if f.pattern is not None:
        out["pattern"] = f.pattern
    if f.type == "array" and f.items is not None:
        out["items"] = _object(f.shape) if f.shape else {"type": f.items}
    elif f.type == "object":
        if f.shape:
            out.update({k: v for k, v in _object(f.shape).items() if k != "type"})
        elif f.values is not None:
            out["additionalProperties"] = {"type": f.values}
    return out


def _object(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {f.name: field_schema(f) for f in fields},
            "required": [f.name for f in fields if f.required], "additionalProperties": False}


def _event(typ: str) -> dict[str, Any]:
    p = PAYLOADS[typ]
    common = {f.name: field_schema(f) for f in COMMON}
    common["type"] = {"const": typ, "description": common["type"]["description"]}
    common["shopper"] = ({"type": "null", "description": "null: the event is about the run"} if p.run_wide else
                         {**common["shopper"], "type": "string",
                          "description": "id of the shopper the event is about"})
    body = _object(p.fields)
    body["properties"] = {**common, **body["properties"]}
    body["required"] = [f.name for f in COMMON] + body["required"]
    return {"description": p.meaning, **body}


def log_json_schema() -> dict[str, Any]:
    types = sorted(PAYLOADS)
    return {
        "$schema": DRAFT,
        "title": "shopsim event log line",
        "description": "One line of a shopsim event log (JSON Lines); docs/event-log.md describes every type.",
        "type": "object",
        "required": [f.name for f in COMMON],
        "properties": {"type": {"enum": types}},
        # The type names the one definition a line must match (if/then, so a validator reports that one's errors).
        "allOf": [{"if": {"properties": {"type": {"const": t}}}, "then": {"$ref": f"#/$defs/{t}"}} for t in types],
        "$defs": {t: _event(t) for t in types},
    }
