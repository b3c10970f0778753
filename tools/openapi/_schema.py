"""JSON Schema (OpenAPI 3.0 and 3.1 dialects) to pydantic types, for tool argument schemas.

Types, `required`, enums and `const`, string patterns and lengths, numeric bounds (3.0's boolean
and 3.1's numeric `exclusiveMinimum`), arrays, nested objects, `nullable` and `type: [.., "null"]`,
`allOf` of objects, `oneOf`/`anyOf` as unions. A schema that refers back to itself is checked
as a recursive model (its objects become forward references resolved once the models exist).
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated, Any, ForwardRef, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from tools.openapi._spec import Document

REGEX_ENGINE: Literal["python-re"] = "python-re"  # patterns are ECMA-262: look-arounds too
_SIMPLE: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


def python_name(name: str, taken: set[str]) -> str:
    """A valid, unused field name for a JSON name: `X-Request-Id` -> `x_request_id`."""
    base = re.sub(r"\W+", "_", name).strip("_").lower() or "value"
    if base[0].isdigit() or keyword.iskeyword(base) or hasattr(BaseModel, base):
        base = f"{base}_"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


class SchemaTypes:
    """Builds pydantic annotations from one document's schemas; models are named after them."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self._models: dict[str, Any] = {}  # $ref -> its annotation
        self._names: dict[str, str] = {}  # $ref of an object schema -> its model's name
        self._built: dict[str, type[BaseModel]] = {}  # name of a $ref's model -> the model
        self._created: list[type[BaseModel]] = []

    def field(
        self, schema: Any, *, required: bool, hint: str, description: str = ""
    ) -> tuple[Any, Any]:
        """An (annotation, FieldInfo) pair for `create_model`; `hint` names inline models."""
        schema = schema if isinstance(schema, dict) else {}
        annotation = self.annotation(schema, (), hint=hint)
        self._resolve_forward_references()
        text = description or _describe(self.document.resolve(schema))
        if required:
            return annotation, Field(description=text or None)
        if "default" in schema:
            return annotation, Field(default=schema["default"], description=text or None)
        return _optional(annotation), Field(default=None, description=text or None)

    def annotation(self, schema: Any, stack: tuple[str, ...], *, hint: str) -> Any:
        if not isinstance(schema, dict):
            return Any  # `true` or a malformed schema: anything goes
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in stack:  # recursion: the model being built, by name
                return ForwardRef(self._names[ref]) if ref in self._names else Any
            if ref not in self._models:
                target = self.document.target(ref)
                if isinstance(target, dict) and ("properties" in target or "allOf" in target):
                    self._names[ref] = self._unique(ref.rsplit("/", 1)[-1])
                hint = self._names.get(ref, ref.rsplit("/", 1)[-1])
                self._models[ref] = self.annotation(target, (*stack, ref), hint=hint)
            return self._models[ref]
        nullable = bool(schema.get("nullable"))
        base = self._base(schema, stack, hint)
        if nullable and base is not Any:
            return _optional(base)
        return base

    def _base(self, schema: dict[str, Any], stack: tuple[str, ...], hint: str) -> Any:
        if "const" in schema:
            return _literal([schema["const"]])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return _literal(schema["enum"])
        if schema.get("allOf"):
            return self._all_of(schema, stack, hint)
        for key in ("oneOf", "anyOf"):
            if schema.get(key):
                return self._union(schema[key], stack, hint)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            options = [self._base({**schema, "type": k}, stack, hint) for k in kinds]
            result = _union_of(options) if options else type(None)
            return _optional(result) if "null" in kind and options else result
        if kind is None and "properties" in schema:
            kind = "object"
        if kind in _SIMPLE:
            return _constrained(_SIMPLE[kind], schema)
        if kind == "array":
            items = self.annotation(schema.get("items", {}), stack, hint=f"{hint}Item")
            limits = {"min_length": schema.get("minItems"), "max_length": schema.get("maxItems")}
            return _annotated(list[items], limits)  # type: ignore[valid-type]
        if kind == "object":
            return self._object(schema, stack, hint)
        if kind == "null":
            return type(None)
        return Any

    def _object(self, schema: dict[str, Any], stack: tuple[str, ...], hint: str) -> Any:
        extra = schema.get("additionalProperties")
        properties = {
            name: prop
            for name, prop in (schema.get("properties") or {}).items()
            if not (isinstance(prop, dict) and self.document.resolve(prop).get("readOnly"))
        }
        if not properties:
            if isinstance(extra, dict) and extra:
                value = self.annotation(extra, stack, hint=f"{hint}Value")
                return dict[str, value]  # type: ignore[valid-type]
            return dict[str, Any]
        required = set(schema.get("required") or [])
        taken: set[str] = set()
        fields: dict[str, Any] = {}
        for name, prop in properties.items():
            annotation = self.annotation(prop, stack, hint=f"{hint}{_title(name)}")
            resolved = self.document.resolve(prop) if isinstance(prop, dict) else {}
            extras: dict[str, Any] = {}
            if name not in required:
                if isinstance(resolved, dict) and "default" in resolved:
                    extras["default"] = resolved["default"]
                else:
                    annotation, extras["default"] = _optional(annotation), None
            info = Field(description=_describe(resolved) or None, alias=name, **extras)
            fields[python_name(name, taken)] = (annotation, info)
        config = ConfigDict(
            extra="allow" if extra not in (None, False) else "forbid",
            populate_by_name=True,
            regex_engine=REGEX_ENGINE,
        )
        model = create_model(hint or "Object", __config__=config, **fields)
        self._created.append(model)
        if hint in self._names.values():
            self._built[hint] = model
        return model

    def _unique(self, name: str) -> str:
        base = re.sub(r"\W+", "_", name) or "Object"
        candidate, n = base, 2
        while candidate in self._names.values():
            candidate, n = f"{base}{n}", n + 1
        return candidate

    def _resolve_forward_references(self) -> None:
        for model in self._created:
            if not model.__pydantic_complete__:
                model.model_rebuild(_types_namespace=dict(self._built))

    def _all_of(self, schema: dict[str, Any], stack: tuple[str, ...], hint: str) -> Any:
        parts = [self.document.resolve(part) for part in schema["allOf"]]
        parts.append({k: v for k, v in schema.items() if k != "allOf"})
        if all(part.get("type", "object") == "object" for part in parts):
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in parts:
                merged["properties"].update(part.get("properties") or {})
                merged["required"] += part.get("required") or []
                if "additionalProperties" in part:
                    merged["additionalProperties"] = part["additionalProperties"]
            return self._object(merged, stack, hint)
        return self._union(schema["allOf"][:1], stack, hint)

    def _union(self, options: list[Any], stack: tuple[str, ...], hint: str) -> Any:
        types = [
            self.annotation(option, stack, hint=f"{hint}Option{n}")
            for n, option in enumerate(options, 1)
        ]
        return _union_of(types)


def _optional(annotation: Any) -> Any:
    return Optional[annotation]  # noqa: UP045 - `|` does not take a ForwardRef


def _union_of(types: list[Any]) -> Any:
    unique = list(dict.fromkeys(types))
    if Any in unique:
        return Any
    return unique[0] if len(unique) == 1 else Union[tuple(unique)]  # noqa: UP007


def _literal(values: list[Any]) -> Any:
    hashable = [v for v in values if isinstance(v, str | int | float | bool) or v is None]
    if len(hashable) != len(values):
        return Any  # an enum of objects: left to the server to check
    return Literal[tuple(hashable)]


def _constrained(base: type, schema: dict[str, Any]) -> Any:
    limits: dict[str, Any] = {}
    if base is str:
        limits = {
            "pattern": schema.get("pattern"),
            "min_length": schema.get("minLength"),
            "max_length": schema.get("maxLength"),
        }
    elif base in (int, float):
        limits = {"ge": schema.get("minimum"), "le": schema.get("maximum")}
        low, high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if low is True:  # 3.0: a flag on `minimum`
            limits["gt"], limits["ge"] = limits["ge"], None
        elif isinstance(low, int | float) and not isinstance(low, bool):
            limits["gt"] = low
        if high is True:
            limits["lt"], limits["le"] = limits["le"], None
        elif isinstance(high, int | float) and not isinstance(high, bool):
            limits["lt"] = high
        limits["multiple_of"] = schema.get("multipleOf")
    return _annotated(base, limits)


def _annotated(base: Any, limits: dict[str, Any]) -> Any:
    present = {k: v for k, v in limits.items() if v is not None}
    return Annotated[base, Field(**present)] if present else base


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    text = str(schema.get("description") or schema.get("title") or "").strip()
    if schema.get("format") and schema.get("type") == "string":
        text = f"{text} (format {schema['format']})".strip()
    return text


def _title(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"\W+|_", name) if part)
