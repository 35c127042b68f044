"""Unit conversion for the built-in `convert_units` tool: length, mass, volume, speed, time, area, temperature.

Each linear unit is a factor to its dimension's base unit (metre, kilogram, litre, m/s, second, m²);
temperatures are converted through kelvin. Names are matched loosely, the way they are spoken or
typed: "km", "kilometers", "kilometres", "°C", "degrees celsius", "pounds", "lbs".
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    name: str  # canonical name, used in the tool's answer
    dimension: str  # length, mass, volume, speed, time, area, temperature
    factor: float = 1.0  # base units per one of this unit (linear dimensions)

    def spoken(self, value: float) -> str:
        """The unit's name for `value` of it: 1 mile, 2 miles, 3 feet, 20 degrees Celsius."""
        if self.dimension == "temperature":
            return "kelvin" if self.name == "kelvin" else f"degrees {self.name.capitalize()}"
        if value == 1:
            return self.name
        head, sep, tail = self.name.partition(" per ")
        plural = {"foot": "feet", "inch": "inches", "square foot": "square feet"}.get(head, head + "s")
        return plural + sep + tail


_LINEAR: dict[str, tuple[str, float, tuple[str, ...]]] = {
    # name: (dimension, factor to base, aliases)
    "millimetre": ("length", 1e-3, ("mm", "millimeter")),
    "centimetre": ("length", 1e-2, ("cm", "centimeter")),
    "metre": ("length", 1.0, ("m", "meter")),
    "kilometre": ("length", 1e3, ("km", "kilometer", "kms")),
    "inch": ("length", 0.0254, ("in", "inches", '"')),
    "foot": ("length", 0.3048, ("ft", "feet", "'")),
    "yard": ("length", 0.9144, ("yd", "yds")),
    "mile": ("length", 1609.344, ("mi", "miles")),
    "nautical mile": ("length", 1852.0, ("nmi",)),
    "milligram": ("mass", 1e-6, ("mg",)),
    "gram": ("mass", 1e-3, ("g", "gr", "gramme")),
    "kilogram": ("mass", 1.0, ("kg", "kgs", "kilo", "kilos", "kilogramme")),
    "tonne": ("mass", 1000.0, ("t", "metric ton", "ton")),
    "ounce": ("mass", 0.028349523125, ("oz",)),
    "pound": ("mass", 0.45359237, ("lb", "lbs")),
    "stone": ("mass", 6.35029318, ("st",)),
    "millilitre": ("volume", 1e-3, ("ml", "milliliter")),
    "litre": ("volume", 1.0, ("l", "liter", "lt")),
    "cubic metre": ("volume", 1000.0, ("m3", "m³", "cubic meter")),
    "teaspoon": ("volume", 0.00492892159375, ("tsp",)),
    "tablespoon": ("volume", 0.01478676478125, ("tbsp",)),
    "fluid ounce": ("volume", 0.0295735295625, ("fl oz", "floz")),
    "cup": ("volume", 0.2365882365, ("cups",)),
    "pint": ("volume", 0.473176473, ("pt",)),
    "quart": ("volume", 0.946352946, ("qt",)),
    "gallon": ("volume", 3.785411784, ("gal", "us gallon")),
    "imperial gallon": ("volume", 4.54609, ("uk gallon",)),
    "metre per second": ("speed", 1.0, ("m/s", "mps", "meters per second")),
    "kilometre per hour": ("speed", 1 / 3.6, ("km/h", "kmh", "kph", "kilometers per hour", "km per hour")),
    "mile per hour": ("speed", 0.44704, ("mph", "mi/h", "miles per hour")),
    "knot": ("speed", 0.514444, ("kn", "kt", "knots")),
    "second": ("time", 1.0, ("s", "sec", "secs")),
    "minute": ("time", 60.0, ("min", "mins")),
    "hour": ("time", 3600.0, ("h", "hr", "hrs")),
    "day": ("time", 86400.0, ("d",)),
    "week": ("time", 604800.0, ("wk",)),
    "year": ("time", 31557600.0, ("yr", "yrs")),  # Julian year, 365.25 days
    "square metre": ("area", 1.0, ("m2", "m²", "sq m", "square meter")),
    "square kilometre": ("area", 1e6, ("km2", "km²", "sq km", "square kilometer")),
    "square foot": ("area", 0.09290304, ("ft2", "ft²", "sq ft", "square feet")),
    "square mile": ("area", 2589988.110336, ("mi2", "mi²", "sq mi", "square miles")),
    "hectare": ("area", 1e4, ("ha",)),
    "acre": ("area", 4046.8564224, ("ac",)),
}
_TEMPERATURE: dict[str, tuple[str, ...]] = {
    "celsius": ("c", "°c", "degc", "centigrade", "degrees celsius", "degree celsius", "celcius"),
    "fahrenheit": ("f", "°f", "degf", "degrees fahrenheit", "degree fahrenheit", "farenheit"),
    "kelvin": ("k", "°k", "kelvins"),
}


def _key(text: str) -> str:
    text = text.strip().lower().replace("degrees ", "").replace("degree ", "")
    return re.sub(r"\s+", " ", text)


def _build() -> dict[str, Unit]:
    table: dict[str, Unit] = {}
    for name, (dimension, factor, aliases) in _LINEAR.items():
        unit = Unit(name, dimension, factor)
        plural = name.replace("foot", "feet").replace("inch", "inches") if name in ("foot", "inch") else name + "s"
        for alias in (name, plural, *aliases):
            table[_key(alias)] = unit
            table[_key(alias.replace("metre", "meter"))] = unit
    for name, aliases in _TEMPERATURE.items():
        for alias in (name, *aliases):
            table[_key(alias)] = Unit(name, "temperature")
    return table


UNITS = _build()


class UnitError(ValueError):
    """An unknown unit, or two units of different dimensions."""


def find_unit(text: str) -> Unit:
    key = _key(text)
    unit = UNITS.get(key) or UNITS.get(key.removesuffix("s")) or UNITS.get(key.removesuffix("es"))
    if unit is None:
        raise UnitError(f"unknown unit '{text}'")
    return unit


def _to_kelvin(value: float, unit: str) -> float:
    return {"celsius": value + 273.15, "fahrenheit": (value - 32) * 5 / 9 + 273.15}.get(unit, value)


def _from_kelvin(value: float, unit: str) -> float:
    return {"celsius": value - 273.15, "fahrenheit": (value - 273.15) * 9 / 5 + 32}.get(unit, value)


def convert(value: float, from_unit: str, to_unit: str) -> tuple[float, Unit, Unit]:
    """(converted value, source unit, target unit); raises UnitError for unknown or incompatible units."""
    src, dst = find_unit(from_unit), find_unit(to_unit)
    if src.dimension != dst.dimension:
        raise UnitError(f"cannot convert {src.dimension} ({src.name}) to {dst.dimension} ({dst.name})")
    if src.dimension == "temperature":
        return _from_kelvin(_to_kelvin(value, src.name), dst.name), src, dst
    return value * src.factor / dst.factor, src, dst
