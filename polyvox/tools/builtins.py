"""Built-in tools: current time/date, unit conversion, a safe calculator, and memory recall.

Descriptions are written for the small LLM that chooses among them (Qwen2.5-0.5B): say what the tool
is for in words a spoken question uses, and give argument examples.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from polyvox.tools.calculator import evaluate, tidy
from polyvox.tools.registry import Tool, ToolRegistry
from polyvox.tools.units import convert

if TYPE_CHECKING:
    from polyvox.memory import MemoryStore


def calculator(expression: str) -> dict[str, Any]:
    """Calculate arithmetic on plain numbers: times, plus, minus, divided by, powers, percentages, square roots.

    Args:
        expression: the arithmetic, e.g. "17 * 23", "2 ** 10", "15% of 80", "sqrt(2)"
    """
    result = tidy(evaluate(expression))
    out: dict[str, Any] = {"expression": expression, "result": result}
    if isinstance(result, int) and abs(result) >= 10**15:
        out["approximately"] = _approximately(result)
    return out


def _approximately(n: int) -> str:
    """A big integer in 6 significant digits, 2**200 -> "1.60694e+60" (Decimal: float() overflows past 1e308)."""
    mantissa, _, exponent = f"{Decimal(n):.5e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{exponent}"


def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    """Convert an amount between units: kilometres/miles, kilograms/pounds, Celsius/Fahrenheit, litres/gallons.

    Args:
        value: the amount, e.g. 10
        from_unit: its unit, e.g. "km", "kg", "celsius"
        to_unit: the unit wanted, e.g. "miles", "pounds", "fahrenheit"
    """
    result, src, dst = convert(value, from_unit, to_unit)
    result = float(f"{result:.6g}")
    return {
        "value": tidy(value),
        "from_unit": src.name,
        "to_unit": dst.name,
        "result": tidy(result),
        "text": f"{tidy(value)} {src.spoken(value)} is {tidy(result)} {dst.spoken(result)}",
    }


# spoken place names and abbreviations → IANA zones (cities that are zone names are found without this)
_PLACES = {
    "utc": "UTC", "gmt": "UTC", "est": "America/New_York", "edt": "America/New_York", "cst": "America/Chicago",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "cet": "Europe/Berlin", "cest": "Europe/Berlin",
    "bst": "Europe/London", "ist": "Asia/Kolkata", "jst": "Asia/Tokyo", "aest": "Australia/Sydney",
    "new york": "America/New_York", "washington": "America/New_York", "boston": "America/New_York",
    "san francisco": "America/Los_Angeles", "california": "America/Los_Angeles", "seattle": "America/Los_Angeles",
    "usa": "America/New_York", "united states": "America/New_York", "america": "America/New_York",
    "uk": "Europe/London", "england": "Europe/London", "britain": "Europe/London", "germany": "Europe/Berlin",
    "france": "Europe/Paris", "spain": "Europe/Madrid", "italy": "Europe/Rome", "india": "Asia/Kolkata",
    "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "bangalore": "Asia/Kolkata",
    "japan": "Asia/Tokyo", "china": "Asia/Shanghai", "beijing": "Asia/Shanghai", "russia": "Europe/Moscow",
    "brazil": "America/Sao_Paulo", "rio de janeiro": "America/Sao_Paulo", "mexico": "America/Mexico_City",
    "australia": "Australia/Sydney", "canada": "America/Toronto", "korea": "Asia/Seoul", "munich": "Europe/Berlin",
    "barcelona": "Europe/Madrid", "hong kong": "Asia/Hong_Kong", "singapore": "Asia/Singapore",
}  # fmt: skip


def find_timezone(place: str) -> ZoneInfo:
    """An IANA zone from a zone name ("Europe/Berlin"), a city ("Tokyo", "new york") or an abbreviation."""
    text = place.strip()
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    key = " ".join(text.lower().replace("_", " ").split())
    if key in _PLACES:
        return ZoneInfo(_PLACES[key])
    for zone in sorted(available_timezones()):
        if zone.rsplit("/", 1)[-1].replace("_", " ").lower() == key:
            return ZoneInfo(zone)
    raise ValueError(f"unknown timezone or city '{place}' (try a zone name like Europe/Berlin)")


def get_time(timezone: str = "") -> dict[str, Any]:
    """Get the current time, date and weekday, here or in another city.

    Args:
        timezone: a city or timezone, e.g. "Tokyo", "America/New_York"; empty for here
    """
    now = dt.datetime.now(find_timezone(timezone)) if timezone.strip() else dt.datetime.now().astimezone()
    offset = now.strftime("%z")
    return {
        "time": now.strftime("%H:%M"),
        "date": now.strftime("%Y-%m-%d"),
        "weekday": now.strftime("%A"),
        "timezone": str(now.tzinfo.key) if isinstance(now.tzinfo, ZoneInfo) else now.tzname(),
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
        "text": now.strftime("%A %d %B %Y, %H:%M"),
    }


def memory_tools(store: MemoryStore, user_id: str) -> list[Tool]:
    """Tools that read and write what polyvox remembers about `user_id` (bound to one user per session)."""

    def recall_memory(query: str = "") -> dict[str, Any]:
        """Recall what you know about the user from earlier conversations (name, home, likes, …).

        Args:
            query: what to look for, e.g. "name"; empty for everything
        """
        facts = store.recall(user_id, query or None, limit=10)
        if not facts:
            return {"facts": [], "note": "nothing is known about the user yet"}
        return {"facts": [{"key": f.key, "value": f.value} for f in facts]}

    def save_memory(key: str, value: str) -> dict[str, Any]:
        """Save a new fact only when the user says "remember that …".

        Args:
            key: what it is about, e.g. "birthday"
            value: the fact, e.g. "May 3rd"
        """
        from polyvox.memory import Fact

        (stored,) = store.remember(user_id, [Fact(key, value, 1.0, f"{key}: {value}")])
        return {"remembered": {"key": stored.key, "value": stored.value}}

    return [Tool.from_function(recall_memory), Tool.from_function(save_memory)]


def builtin_tools(memory: MemoryStore | None = None, user_id: str | None = None) -> list[Tool]:
    """The built-in tools; memory tools are included when a store and a user id are given."""
    tools = [Tool.from_function(f) for f in (calculator, convert_units, get_time)]
    if memory is not None and user_id:
        tools += memory_tools(memory, user_id)
    return tools


def default_registry(
    memory: MemoryStore | None = None, user_id: str | None = None, extra: list[Tool] | None = None
) -> ToolRegistry:
    """A registry with the built-ins (memory tools if `memory` and `user_id`) and `extra` user tools,
    which may replace a built-in of the same name."""
    registry = ToolRegistry(builtin_tools(memory, user_id))
    for t in extra or []:
        registry.add(t, replace=True)
    return registry
