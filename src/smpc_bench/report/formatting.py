"""Numbers with units for people: ``EUR 1,250,000``, ``61.5 %``, ``3.1 points``."""

from __future__ import annotations

from fractions import Fraction

__all__ = ["format_difference", "format_value"]

_PREFIX_UNITS = {"eur": "EUR", "€": "€", "usd": "USD", "$": "$", "gbp": "GBP", "£": "£",
                 "chf": "CHF"}


def _number(value: Fraction | float | int, decimals: int) -> str:
    """At least ``decimals`` places, up to two more if the value needs them (means, quantiles)."""
    number = float(value)
    places = decimals
    while places < decimals + 2 and abs(number * 10**places - round(number * 10**places)) > 1e-6:
        places += 1
    return f"{number:,.{places}f}"


def format_value(value: Fraction | float | int | None, unit: str = "", decimals: int = 2) -> str:
    """``format_value(Fraction(1250000), "EUR", 0)`` -> ``"EUR 1,250,000"``; None -> ``"-"``.

    Args:
        value: The number (exact or float).
        unit: The KPI's unit; currencies go in front, everything else after the number.
        decimals: Decimals to show at least (a KPI's declared decimals); up to two more are
            shown when the value has them (means, interpolated quantiles).
    """
    if value is None:
        return "-"
    text = _number(value, decimals)
    if unit.strip().casefold() in _PREFIX_UNITS:
        return f"{_PREFIX_UNITS[unit.strip().casefold()]} {text}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def format_difference(value: Fraction | float | int, unit: str = "", decimals: int = 2) -> str:
    """The size of a gap: percentages become percentage *points*."""
    magnitude = abs(float(value)) if isinstance(value, float) else abs(Fraction(value))
    if unit.strip() == "%":
        text = _number(magnitude, decimals)
        return f"{text} percentage point{'' if text == '1' else 's'}"
    return format_value(magnitude, unit, decimals)
