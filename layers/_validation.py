"""Argument checks shared by the layers, worded like Keras' own errors."""

from __future__ import annotations

import numbers


def check_positive_integer(layer: str, argument: str, value: object) -> int:
    """Returns `value` as an `int`, or raises if it is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{layer} expected a positive integer for `{argument}`, received: {argument}={value!r}"
        )
    return int(value)


def check_positive_float(layer: str, argument: str, value: object) -> float:
    """Returns `value` as a `float`, or raises if it is not a number above zero."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(
            f"{layer} expected a positive float for `{argument}`, received: {argument}={value!r}"
        )
    return float(value)


def check_non_negative_float(layer: str, argument: str, value: object) -> float:
    """Returns `value` as a `float`, or raises if it is negative or not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(
            f"{layer} expected a non-negative float for `{argument}`, received: {argument}={value!r}"
        )
    return float(value)


def check_rate(layer: str, argument: str, value: object) -> float:
    """Returns `value` as a `float`, or raises if it is not in the range [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(
            f"{layer} expected a float in the range [0, 1) for `{argument}`, received: {argument}={value!r}"
        )
    return float(value)


def check_optional_seed(layer: str, value: object) -> int | None:
    """Returns `value` as an `int`, or `None`; raises for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{layer} expected an integer or None for `seed`, received: seed={value!r}")
    return int(value)
