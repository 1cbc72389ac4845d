"""Validate a damaris section against the shipped JSON Schema and word the first error.

``schema.json`` is the single statement of the YAML format's shape (ports reuse it); this module
only turns a jsonschema error into the project's one-line message with the file, key path,
line, the bad value and what is allowed (:class:`JsonSchema`, which other schema-checked files
use too).

A section is first checked by ``jsonschema_rs`` (compiled, ~100x faster: a 10 MB config takes
0.05 s instead of 10 s); only a section it refuses, or holds values it cannot convert, goes
through ``jsonschema``, whose error tree words the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import ValidationError, best_match

from .errors import ConfigError, Locator, allowed, did_you_mean, echo

#: the JSON Schema of the YAML format, shipped in the package for ports to reuse
SCHEMA_PATH = Path(__file__).with_name("schema.json")

_ALTERNATIVES = ("anyOf", "oneOf")
_STRUCTURAL = ("additionalProperties", "required")
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema of a whole YAML config file (draft 2020-12)."""
    return cast(dict[str, Any], json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


class JsonSchema:
    """A draft 2020-12 JSON Schema whose violations become the project's one-line errors.

    Shared by every file the project validates against a schema (the config's damaris section,
    the conformance suite's deviations files), so each words a violation the same way.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._validator = jsonschema.Draft202012Validator(document)

    def check(self, instance: Any, where: Locator) -> None:
        """Raise a located :class:`ConfigError` for the most relevant violation, if any."""
        error = best_match(self._validator.iter_errors(instance))
        if error is not None:
            raise self._word(_most_specific(error), where)

    def _word(self, error: ValidationError, where: Locator) -> ConfigError:
        path = tuple(error.absolute_path)
        # a schema here is always a mapping of keywords (no boolean schemas)
        schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
        instance: Any = error.instance
        if error.validator == "additionalProperties":
            known = list(schema.get("properties", {}))
            key = next(k for k in instance if k not in known)
            return where.error(
                (*path, key),
                f"unknown {where.noun} {echo(where.key_name(key))}"
                f"{did_you_mean(key, known)} {allowed(map(where.key_name, known))}",
            )
        if error.validator == "required":
            required = schema["required"]
            key = next(k for k in required if k not in instance)
            return where.error(
                path,
                f"missing required {where.noun} {where.key_name(key)!r} "
                f"(required: {', '.join(map(where.key_name, required))})",
            )
        if "propertyNames" in error.relative_schema_path:
            return where.error(
                (*path, instance),
                f"invalid name {echo(instance)}; allowed: {self.describe(schema)}",
            )
        return where.error(
            path, f"invalid value {echo(instance)}; allowed: {self.describe(schema)}"
        )

    def describe(self, schema: Mapping[str, Any]) -> str:
        """A short English description of the values ``schema`` (a part of this one) accepts."""
        if "title" in schema:
            return str(schema["title"])
        if "$ref" in schema:
            return self.describe(self._resolve(schema["$ref"]))
        for keyword in _ALTERNATIVES:
            if keyword in schema:
                return " or ".join(self.describe(branch) for branch in schema[keyword])
        if "const" in schema:
            return repr(schema["const"])
        if "enum" in schema:
            return "one of " + ", ".join(map(str, schema["enum"]))
        types = schema.get("type", [])
        words = " or ".join(_TYPE_WORDS[t] for t in ([types] if isinstance(types, str) else types))
        if "minimum" in schema:
            words += f" >= {schema['minimum']}"
        if "exclusiveMinimum" in schema:
            words += f" > {schema['exclusiveMinimum']}"
        if schema.get("minLength") == 1:
            words = "a non-empty string"
        if "pattern" in schema:
            words += f" matching {schema['pattern']}"
        return words or "anything"

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        prefix = "#/$defs/"
        if not ref.startswith(prefix):
            raise ValueError(f"schema reference {ref!r} is not a local definition")
        definition: Mapping[str, Any] = self.document["$defs"][ref.removeprefix(prefix)]
        return definition


def _section_schema() -> dict[str, Any]:
    schema = load_schema()
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/damaris"}


@cache
def _section() -> JsonSchema:
    return JsonSchema(_section_schema())


@cache
def _fast_validator() -> Any:
    return jsonschema_rs.Draft202012Validator(_section_schema())


def surely_valid(validator: Any, value: Any) -> bool:
    """True when the compiled ``jsonschema_rs`` ``validator`` accepts ``value``; False when it
    refuses or cannot convert a value (a YAML date, an integer beyond 64 bits), and
    ``jsonschema`` has to decide and word the error."""
    try:
        return bool(validator.is_valid(value))
    except (ValueError, TypeError, OverflowError):
        return False


def check_section(section: Any, where: Locator) -> None:
    """Raise a located :class:`ConfigError` for the most relevant schema violation, if any."""
    if not surely_valid(_fast_validator(), section):
        _section().check(section, where)


def _most_specific(error: ValidationError) -> ValidationError:
    """Descend into alternatives that fit the value's shape; climb back when none does.

    ``best_match`` may stop at an ``anyOf`` (mapping-or-list sections) or pick one branch's
    complaint about a scalar (``nthreads: 0`` -> "minimum 1", hiding ``"openmp"``). A value that
    fits one branch structurally is best explained by that branch's error; a scalar that fits
    none is best explained by listing every alternative.
    """
    while error.validator in _ALTERNATIVES:
        inner = [e for e in error.context if not _whole_value(e)]
        if not inner:
            return error
        error = best_match(inner)
    while (
        isinstance(error.parent, ValidationError)
        and error.parent.validator in _ALTERNATIVES
        and _whole_value(error)
    ):
        error = error.parent
    return error


def _whole_value(error: ValidationError) -> bool:
    """True when ``error`` rejects the value itself rather than something inside it."""
    return (
        not error.relative_path
        and error.validator not in _STRUCTURAL
        and "propertyNames" not in error.relative_schema_path
    )
