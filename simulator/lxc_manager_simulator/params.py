"""Parameter declarations and their verification, with Proxmox's error texts.

Each route declares its parameters with `Param` (the same vocabulary as the official
schema: type, optional, minimum, maximum, enum, minLength, maxLength, pattern, format,
requires). `--schema PATH` swaps these declarations for the official ones (`schema.py`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import param_error

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
INDEXED = re.compile(r"^([a-z]+)\[n\]$")
INDEX_LIMITS = {"net": 32, "mp": 256, "unused": 256, "dev": 256}


@dataclass(frozen=True)
class Param:
    type: str  # string, integer, number, boolean
    optional: bool = True
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    property_format: Mapping[str, Param] | None = None  # key=value,... property strings
    default_key: str | None = None  # key of a property string's bare value
    requires: str | None = None


def req(p: Param) -> Param:
    return Param(**{**p.__dict__, "optional": False})


def opt_str(
    max_length: int | None = None,
    fmt: str | None = None,
    enum: tuple[str, ...] | None = None,
    pattern: str | None = None,
    min_length: int | None = None,
) -> Param:
    return Param(
        "string",
        max_length=max_length,
        format=fmt,
        enum=enum,
        pattern=pattern,
        min_length=min_length,
    )


def opt_int(
    minimum: float | None = None, maximum: float | None = None, fmt: str | None = None
) -> Param:
    return Param("integer", minimum=minimum, maximum=maximum, format=fmt)


def opt_num(minimum: float | None = None, maximum: float | None = None) -> Param:
    return Param("number", minimum=minimum, maximum=maximum)


OPT_BOOL = Param("boolean")
NODE = Param("string", optional=False, format="pve-node")
VMID = Param("integer", optional=False, minimum=100, maximum=999_999_999, format="pve-vmid")
OPT_VMID = Param("integer", minimum=100, maximum=999_999_999, format="pve-vmid")


@dataclass
class Verified:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def declared(declarations: Mapping[str, Param], name: str) -> Param | None:
    """The declaration for `name`, including indexed ones (`net0` -> `net[n]`)."""
    found = declarations.get(name)
    if found is not None:
        return found
    match = re.fullmatch(r"([a-z]+)(\d+)", name)
    if match is None:
        return None
    base, index = match.group(1), int(match.group(2))
    if index >= INDEX_LIMITS.get(base, 256):
        return None
    return declarations.get(f"{base}[n]")


def verify(declarations: Mapping[str, Param], raw: Mapping[str, object]) -> dict[str, Any]:
    """Typed values of `raw`, or `PveError(400, "Parameter verification failed.")`."""
    result = Verified()
    for name, value in raw.items():
        decl = declared(declarations, name)
        if decl is None:
            result.errors[name] = (
                "property is not defined in schema and the schema does not "
                "allow additional properties"
            )
            continue
        problem, typed = check_value(decl, value)
        if problem:
            result.errors[name] = problem
        else:
            result.values[name] = typed
    for name, decl in declarations.items():
        if not decl.optional and "[n]" not in name and name not in raw:
            result.errors[name] = "property is missing and it is not optional"
        if decl.requires and name in raw and decl.requires not in raw:
            result.errors[decl.requires] = f"missing property - '{name}' requires this property"
    if result.errors:
        raise param_error(result.errors)
    return result.values


def check_value(decl: Param, value: object) -> tuple[str | None, Any]:
    """-> (error text or None, typed value)."""
    converted = _convert(decl.type, value)
    if converted is _INVALID:
        return f"type check ('{decl.type}') failed - got '{value}'", None
    problem = (
        _check_range(decl, converted)
        or _check_text(decl, converted)
        or _check_format(decl, converted)
    )
    return problem, converted


_INVALID = object()


def _convert(kind: str, value: object) -> Any:
    if kind == "boolean":
        return _to_bool(value)
    if kind == "integer":
        return _to_number(value, int)
    if kind == "number":
        return _to_number(value, float)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if isinstance(value, str | int | float) else _INVALID


def _to_bool(value: object) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return _INVALID


def _to_number(value: object, kind: type) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return kind(value)
    if isinstance(value, float):
        return value if kind is float else (int(value) if value.is_integer() else _INVALID)
    if isinstance(value, str):
        pattern = r"[+-]?\d+" if kind is int else r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
        if re.fullmatch(pattern, value.strip()):
            return kind(value.strip())
    return _INVALID


def _fmt_limit(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def _check_range(decl: Param, value: Any) -> str | None:
    if decl.type not in ("integer", "number"):
        return None
    if decl.minimum is not None and value < float(decl.minimum):
        return f"value must have a minimum value of {_fmt_limit(float(decl.minimum))}"
    if decl.maximum is not None and value > float(decl.maximum):
        return f"value must have a maximum value of {_fmt_limit(float(decl.maximum))}"
    return None


def _check_text(decl: Param, value: Any) -> str | None:
    if decl.type != "string":
        return None
    if decl.max_length is not None and len(value) > decl.max_length:
        return f"value may only be {decl.max_length} characters long"
    if decl.min_length is not None and len(value) < decl.min_length:
        return f"value must be at least {decl.min_length} characters long"
    if decl.enum is not None and value not in decl.enum:
        return f"value '{value}' does not have a value in the enumeration '{', '.join(decl.enum)}'"
    if decl.pattern is not None:
        regex = compile_pattern(decl.pattern)
        if regex is not None and not regex.fullmatch(value):
            return "value does not match the regex pattern"
    return None


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """Perl patterns of the schema (`(?^:...)`) as Python regexes; None if untranslatable."""
    text = pattern.replace("(?^:", "(?:").replace("(?^i:", "(?i:")
    text = text.replace("\\z", "\\Z")
    try:
        return re.compile(text)
    except re.error:
        return None


def _check_format(decl: Param, value: Any) -> str | None:
    if decl.property_format is not None and isinstance(value, str):
        return check_property_string(decl.property_format, value, decl.default_key)
    if decl.format is None or not isinstance(value, str):
        return None
    checker = FORMAT_CHECKS.get(decl.format)
    return checker(value) if checker else None


def parse_property_string(text: str, default_key: str | None) -> dict[str, str] | str:
    """`name=eth0,bridge=vmbr0` -> dict; an error text when malformed."""
    result: dict[str, str] = {}
    for part in (p for p in text.split(",") if p):
        key, sep, value = part.partition("=")
        if not sep:
            if default_key is None or default_key in result:
                return f"value without key, but schema does not define a default key: '{part}'"
            key, value = default_key, part
        if key in result:
            return f"duplicate key in comma-separated list property: {key}"
        result[key.strip()] = value
    return result


def check_property_string(
    fmt: Mapping[str, Param], text: str, default_key: str | None
) -> str | None:
    parsed = parse_property_string(text, default_key)
    if isinstance(parsed, str):
        return f"invalid format - {parsed}"
    for key, value in parsed.items():
        decl = fmt.get(key)
        if decl is None:
            return f"invalid format - {key}: property is not defined in schema"
        problem, _ = check_value(decl, value)
        if problem:
            return f"invalid format - {key}: {problem}"
    for key, decl in fmt.items():
        if not decl.optional and key not in parsed:
            return f"invalid format - {key}: property is missing and it is not optional"
    return None


def _regex_check(pattern: str, message: str) -> Callable[[str], str | None]:
    regex = re.compile(pattern)
    return lambda value: None if regex.fullmatch(value) else message.format(value=value)


def _ip_check(version: int, message: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return message.format(value=value)
        return None if address.version == version else message.format(value=value)

    return check


def _cidr_or_words(version: int, words: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if value in words:
            return None
        try:
            network = ipaddress.ip_interface(value)
        except ValueError:
            return f"value does not look like a valid IPv{version} address/CIDR"
        ok = network.version == version and "/" in value
        return None if ok else f"value does not look like a valid IPv{version} address/CIDR"

    return check


def _list_check(item: Callable[[str], str | None]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        for part in (p for p in re.split(r"[,;\s]+", value) if p):
            problem = item(part)
            if problem:
                return problem
        return None

    return check


STORAGE_CONTENT = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none")
_content_check = _regex_check("|".join(STORAGE_CONTENT), "invalid content type '{value}'")
_node_check = _regex_check(
    r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?", "value does not look like a valid node name"
)
_dns_check = _regex_check(
    r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?",
    "value '{value}' does not look like a valid DNS name",
)
_configid_check = _regex_check(r"[a-z][a-z0-9_]+", "invalid configuration ID '{value}'")

FORMAT_CHECKS: dict[str, Callable[[str], str | None]] = {
    "pve-node": _node_check,
    "pve-storage-id": _regex_check(
        r"[a-z][a-z0-9\-_.]*[a-z0-9]", "storage ID '{value}' contains illegal characters"
    ),
    "pve-configid": _configid_check,
    "pve-configid-list": _list_check(_configid_check),
    "pve-realm": _regex_check(
        r"[A-Za-z][A-Za-z0-9.\-_]+", "value does not look like a valid realm"
    ),
    "pve-poolid": _regex_check(r"[A-Za-z0-9_\-]+", "invalid pool ID '{value}'"),
    "dns-name": _dns_check,
    "dns-name-list": _list_check(_dns_check),
    "ipv4": _ip_check(4, "value does not look like a valid IPv4 address"),
    "ipv6": _ip_check(6, "value does not look like a valid IPv6 address"),
    "mac-addr": _regex_check(
        r"[a-fA-F0-9][02468aAcCeE](:[a-fA-F0-9]{2}){5}",
        "value does not look like a valid unicast MAC address",
    ),
    "pve-ipv4-config": _cidr_or_words(4, ("dhcp", "manual")),
    "pve-ipv6-config": _cidr_or_words(6, ("auto", "dhcp", "manual")),
    "pve-storage-content": _content_check,
    "pve-storage-content-list": _list_check(_content_check),
    "pve-tag-list": _list_check(
        _regex_check(r"[a-z0-9_][a-z0-9_\-+.]*", "invalid characters in tag '{value}'")
    ),
    "pve-volume-id": _regex_check(
        r"[a-z][a-z0-9\-_.]*[a-z0-9]:.+", "unable to parse volume ID '{value}'"
    ),
    "disk-size": _regex_check(r"\d+(\.\d+)?[KMGT]?", "unable to parse size '{value}'"),
    "pve-priv-list": _list_check(
        _regex_check(r"[A-Z][A-Za-z]+(\.[A-Za-z]+)+", "invalid privilege name '{value}'")
    ),
    "pve-startup-order": _regex_check(
        r"((order=)?\d+)?(,?(up|down)=\d+)*", "unable to parse startup options"
    ),
}
