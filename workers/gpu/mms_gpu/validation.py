"""Input checks for activity requests: a bad field is a non-retryable error that names it."""

from __future__ import annotations

from typing import Any


class BadRequest(ValueError):
    """A request field is missing or wrong. The activity layer turns it into a non-retryable failure."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def get(obj: dict, field: str, kind: type | tuple[type, ...], *, default: Any = ..., prefix: str = "") -> Any:
    name = f"{prefix}{field}"
    if not isinstance(obj, dict):
        raise BadRequest(prefix.rstrip(".") or "request", "must be an object")
    if field not in obj or obj[field] is None:
        if default is ...:
            raise BadRequest(name, "is required")
        return default
    value = obj[field]
    # bool is an int in Python: never accept it where a number is meant.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise BadRequest(name, f"must be {_kind_name(kind)}, got a boolean")
    if not isinstance(value, kind):
        raise BadRequest(name, f"must be {_kind_name(kind)}, got {type(value).__name__}")
    return value


def positive(value: float, name: str) -> float:
    if value <= 0:
        raise BadRequest(name, f"must be > 0, got {value}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object", bool: "a boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
