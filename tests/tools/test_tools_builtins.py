"""Built-in tools: the safe calculator, unit conversion, time with timezones, memory recall."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from polyvox.memory import Fact, MemoryStore
from polyvox.tools import default_registry
from polyvox.tools.builtins import calculator, convert_units, find_timezone, get_time
from polyvox.tools.calculator import CalculatorError, evaluate


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23", 391),
        ("What is 17 times 23?", 391),
        ("2^10", 1024),
        ("3 x 4", 12),
        ("10 divided by 4", 2.5),
        ("15% of 80", 12),
        ("10 % 3", 1),
        ("1,000 + 1", 1001),
        ("square root of 16", 4),
        ("0.1 + 0.2", 0.3),
        ("-(2 ** 3) + sqrt(2) ** 2", -6),
        ("factorial(5) / 4!", None),  # "!" is not supported: refused, not guessed
        ("2 ** -3", 0.125),
        ("max(3, 7, 5)", 7),
        ("pi * 2", math.tau),
    ],
)
def test_calculator_arithmetic(expression: str, expected: float | None):
    if expected is None:
        with pytest.raises(CalculatorError):
            evaluate(expression)
    else:
        assert calculator(expression)["result"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('echo hi')", "not arithmetic"),
        ("().__class__.__bases__[0]", "not arithmetic"),
        ("open('/etc/passwd')", "not arithmetic"),
        ("[x for x in range(10)]", "cannot parse|not arithmetic"),
        ("'a' * 10", "not arithmetic"),
        ("sqrt(x=4)", "plain arguments"),
        ("round(2.5, ndigits=1)", "plain arguments"),
        ("os", "unknown name 'os'"),
        ("9 ** 9 ** 9", "digits"),
        ("2 ** 100000", "digits"),
        ("10.0 ** 400", "too large"),
        ("(10**999)/(10**-5)", "too large"),  # a huge integer meets a float (was a raw OverflowError)
        ("-(10**999) / 3", "too large"),
        ("10**999 % 0.5", "too large"),
        ("factorial(100000)", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("1 +", "cannot parse"),
        ("1" + "+1" * 200, "too long"),
        ("", "empty"),
    ],
)
def test_calculator_refuses(expression: str, message: str):
    with pytest.raises(CalculatorError, match=message):
        evaluate(expression)


def test_calculator_tool_reports_errors_and_big_numbers():
    reg = default_registry()
    out = reg.run("calculator", '{"expression": "__import__(\\"os\\")"}')
    assert out.error and "not arithmetic" in out.error
    big = json.loads(reg.run("calculator", '{"expression": "2 ** 200"}').output_json)
    assert big["result"] == 2**200 and big["approximately"] == "1.60694e+60"
    huge = json.loads(reg.run("calculator", '{"expression": "10 ** 400"}').output_json)  # past float's range
    assert huge["approximately"] == "1e+400"


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (10, "km", "miles", 6.21371),
        (1, "mi", "kilometers", 1.60934),
        (100, "°C", "°F", 212),
        (-40, "fahrenheit", "celsius", -40),
        (37, "degrees Celsius", "Fahrenheit", 98.6),
        (0, "K", "C", -273.15),
        (1, "kg", "lbs", 2.20462),
        (10, "pounds", "kilograms", 4.53592),
        (60, "mph", "km/h", 96.5606),
        (1, "gallon", "litres", 3.78541),
        (6, "feet", "cm", 182.88),
    ],
)
def test_convert_units(value: float, src: str, dst: str, expected: float):
    assert convert_units(value, src, dst)["result"] == pytest.approx(expected, rel=1e-5)


def test_convert_units_text_and_errors():
    assert convert_units(10, "km", "mi")["text"] == "10 kilometres is 6.21371 miles"
    assert convert_units(1, "foot", "inch")["text"] == "1 foot is 12 inches"
    assert convert_units(20, "c", "f")["text"] == "20 degrees Celsius is 68 degrees Fahrenheit"
    reg = default_registry()
    assert (
        "cannot convert length (kilometre) to mass (kilogram)"
        in reg.run("convert_units", '{"value": 1, "from_unit": "km", "to_unit": "kg"}').error
    )
    assert (
        "unknown unit 'parsecs'"
        in reg.run("convert_units", '{"value": "3", "from_unit": "parsecs", "to_unit": "km"}').error
    )


def test_get_time_with_timezones():
    places = {
        "Tokyo": "Asia/Tokyo", "America/New_York": "America/New_York", "new york": "America/New_York",
        "India": "Asia/Kolkata", "utc": "UTC", "Buenos Aires": "America/Argentina/Buenos_Aires",
    }  # fmt: skip
    for place, zone in places.items():
        assert find_timezone(place).key == zone, place
    out = get_time("Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    now = dt.datetime.now(tokyo)
    shown = dt.datetime.strptime(f"{out['date']} {out['time']}", "%Y-%m-%d %H:%M").replace(tzinfo=tokyo)
    assert abs((now - shown).total_seconds()) < 120
    assert out["utc_offset"] == "+09:00" and out["timezone"] == "Asia/Tokyo" and out["weekday"] == now.strftime("%A")
    assert get_time()["date"]  # local time
    assert "unknown timezone or city 'Atlantis'" in default_registry().run("get_time", '{"timezone": "Atlantis"}').error


def test_memory_tools(tmp_path: Path):
    store = MemoryStore(tmp_path / "m.sqlite3")
    store.remember("anna", [Fact("name", "Anna"), Fact("location", "Berlin")])
    reg = default_registry(store, "anna")
    assert {"recall_memory", "save_memory"} <= set(reg.names())
    facts = json.loads(reg.run("recall_memory", '{"query": "where do I live"}').output_json)["facts"]
    assert facts[0] == {"key": "location", "value": "Berlin"}
    assert reg.run("save_memory", '{"key": "birthday", "value": "May 3rd"}').ok
    assert any(f.key == "birthday" and f.confidence == 1.0 for f in store.recall("anna"))
    other = default_registry(store, "bob")
    assert json.loads(other.run("recall_memory").output_json)["facts"] == []
    assert "recall_memory" not in default_registry().names()
