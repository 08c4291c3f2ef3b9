"""Small validated value objects naming the statistics a round may release.

``Metric.MEAN``, ``Metric.MEDIAN``, ``Metric.percentile(90)``, ``Metric.parse("p90")``: each knows
its display name and, for quantiles, the exact :class:`~smpc_bench.spec.quantile_methods.Cut`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

from smpc_bench.spec.quantile_methods import METHODS, Cut

__all__ = ["Metric", "DEFAULT_METRICS"]

_KINDS = ("count", "sum", "mean", "variance", "stdev", "min", "max", "quantile")


@dataclass(frozen=True)
class Metric:
    """One statistic of one KPI.

    Attributes:
        kind: One of ``count, sum, mean, variance, stdev, min, max, quantile``.
        fraction: For quantiles, the cut in ``[0, 1]`` (0.5 is the median).
        method: For quantiles, one of :data:`~smpc_bench.spec.quantile_methods.METHODS`.
    """

    kind: str
    fraction: Fraction | None = None
    method: str | None = None

    COUNT: ClassVar[Metric]
    SUM: ClassVar[Metric]
    MEAN: ClassVar[Metric]
    VARIANCE: ClassVar[Metric]
    STDEV: ClassVar[Metric]
    MIN: ClassVar[Metric]
    MAX: ClassVar[Metric]
    MEDIAN: ClassVar[Metric]

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown statistic {self.kind!r}; choose from {_KINDS}")
        if self.kind == "quantile":
            if self.fraction is None:
                raise ValueError("a quantile needs a fraction")
            if self.method not in METHODS:
                raise ValueError(
                    f"unknown quantile method {self.method!r}; choose from {', '.join(METHODS)}")

            object.__setattr__(self, "fraction", Fraction(self.fraction))
            Cut(self.fraction, self.method)  # validates the range
        elif self.fraction is not None or self.method is not None:
            raise ValueError(f"{self.kind} takes no fraction or method")

    @classmethod
    def percentile(cls, percent: float | int | str | Fraction, method: str = "inclusive") -> Metric:
        """The ``percent``-th percentile (0-100), by default numpy's ``linear`` definition."""
        fraction = Fraction(str(percent)) if isinstance(percent, float) else Fraction(percent)
        return cls("quantile", fraction / 100, method)

    @classmethod
    def parse(cls, text: str) -> Metric:
        """Parse ``count, sum, mean, variance, stdev, min, max, median, p10, p2.5, q1, q3``.

        A method may follow a colon: ``p90:nearest-rank``.
        """
        name, _, method = text.strip().lower().partition(":")
        method = method or "inclusive"
        simple = {m.kind: m for m in (cls.COUNT, cls.SUM, cls.MEAN, cls.VARIANCE, cls.STDEV,
                                      cls.MIN, cls.MAX)}
        if name in simple and not _:
            return simple[name]
        quartiles = {"q1": 25, "median": 50, "q2": 50, "q3": 75}
        if name in quartiles:
            return cls.percentile(quartiles[name], method)
        match = re.fullmatch(r"p(\d+(?:\.\d+)?|\d+/\d+)", name)
        if match:
            return cls.percentile(match.group(1), method)
        raise ValueError(
            f"unknown statistic {text!r}: use count, sum, mean, variance, stdev, min, max, "
            "median, q1, q3 or pNN (e.g. p90), optionally with ':method'"
        )

    @property
    def cut(self) -> Cut:
        """The quantile cut of a ``min``, ``max`` or ``quantile`` metric."""
        if self.kind == "min":
            return Cut(Fraction(0), "lower")
        if self.kind == "max":
            return Cut(Fraction(1), "lower")
        if self.kind != "quantile":
            raise ValueError(f"{self.kind} is not an order statistic")
        assert self.fraction is not None and self.method is not None
        return Cut(self.fraction, self.method)

    @property
    def name(self) -> str:
        """Display name: ``mean``, ``median``, ``p90``, ``p25:exclusive`` ..."""
        if self.kind != "quantile":
            return self.kind
        assert self.fraction is not None
        percent = self.fraction * 100
        text = "median" if percent == 50 else f"p{_format_percent(percent)}"
        return text if self.method == "inclusive" else f"{text}:{self.method}"

    def __str__(self) -> str:
        return self.name


def _format_percent(percent: Fraction) -> str:
    """Exact text of a percent: ``12.25``, or ``100/3`` when it has no short decimal form."""
    hundredths = percent * 100
    if hundredths.denominator != 1:
        return f"{percent.numerator}/{percent.denominator}"
    whole, part = divmod(hundredths.numerator, 100)
    return str(whole) if part == 0 else f"{whole}.{part:02d}".rstrip("0")


Metric.COUNT = Metric("count")
Metric.SUM = Metric("sum")
Metric.MEAN = Metric("mean")
Metric.VARIANCE = Metric("variance")
Metric.STDEV = Metric("stdev")
Metric.MIN = Metric("min")
Metric.MAX = Metric("max")
Metric.MEDIAN = Metric.percentile(50)

#: What a benchmark releases unless told otherwise.
DEFAULT_METRICS: tuple[Metric, ...] = (
    Metric.COUNT,
    Metric.MEAN,
    Metric.STDEV,
    Metric.percentile(10),
    Metric.percentile(25),
    Metric.MEDIAN,
    Metric.percentile(75),
    Metric.percentile(90),
)
# min and max are left out on purpose: each discloses one firm's exact figure.
