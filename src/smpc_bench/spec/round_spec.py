"""What every party of a round must agree on before any data moves, and its hash.

All parties must make the same sequence of MPyC calls; a round whose parties disagree on the
KPIs, bounds, statistics, disclosure rules or threshold would hang or compute garbage (or
release what another party's rules would withhold).  Each party hashes the canonical form of its
:class:`RoundSpec` and the parties compare hashes first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from smpc_bench.spec.encoding import DEFAULT_RADIX_BITS
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import DEFAULT_METRICS, Metric

__all__ = ["ABSOLUTE_MIN_CONTRIBUTIONS", "DEFAULT_MAX_FIRM_SHARE", "DEFAULT_MIN_CONTRIBUTIONS",
           "DEFAULT_PROGRESS_TIMEOUT", "MAX_PROGRESS_TIMEOUT", "MAX_SHARE_DECIMALS",
           "MAX_SHARE_DENOMINATOR", "MIN_PROGRESS_TIMEOUT", "SUM_BASED_KINDS", "RoundSpec",
           "check_progress_timeout", "exact_share"]

#: Largest share of a KPI's total one firm may contribute before its sum and mean are withheld
#: (the dominance rule of :mod:`smpc_bench.spec.disclosure`; 25% as in DESIGN's threat model).
DEFAULT_MAX_FIRM_SHARE = Fraction(1, 4)
#: Default minimum number of distinct contributing firms behind a released statistic.
DEFAULT_MIN_CONTRIBUTIONS = 5
#: The configuration may not go below this.
ABSOLUTE_MIN_CONTRIBUTIONS = 3
#: ``max_firm_share`` is written with at most this many decimals (0.3333, not 1/3).
MAX_SHARE_DECIMALS = 4
#: Shares are exact fractions with at most this denominator: the dominance comparison's bit
#: length grows with it (see :func:`smpc_bench.spec.sizing.dominance_bits`).
MAX_SHARE_DENOMINATOR = 10**MAX_SHARE_DECIMALS
#: Statistics that reveal a KPI's total (a mean times the released count is the sum), to which
#: the dominance rule applies.
SUM_BASED_KINDS = ("sum", "mean")
#: Seconds without a word (no data, no heartbeat) after which a party counts as stalled and the
#: others stop the round (see :mod:`smpc_bench.engine.liveness`).
DEFAULT_PROGRESS_TIMEOUT = 60
#: Bounds of the progress timeout: below a second a busy but live party would be cut off.
MIN_PROGRESS_TIMEOUT, MAX_PROGRESS_TIMEOUT = 1, 86_400


def check_progress_timeout(value: object) -> int:
    """Check a progress timeout (whole seconds) and return it.

    Raises:
        ValueError: Not a whole number of seconds between :data:`MIN_PROGRESS_TIMEOUT` and
            :data:`MAX_PROGRESS_TIMEOUT`.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not (
            MIN_PROGRESS_TIMEOUT <= value <= MAX_PROGRESS_TIMEOUT):
        raise ValueError(f"the progress timeout must be a whole number of seconds from "
                         f"{MIN_PROGRESS_TIMEOUT} to {MAX_PROGRESS_TIMEOUT}, e.g. "
                         f"{DEFAULT_PROGRESS_TIMEOUT}; got {value!r}")
    return value


def exact_share(value: Fraction | Decimal | int | str) -> Fraction:
    """Check a ``max_firm_share`` and return it as an exact fraction in ``(0, 1]``.

    Floats are refused: ``0.3`` is not exactly 3/10, and every party must compute the same
    comparison.  Pass ``Fraction(3, 10)``, ``Decimal("0.3")`` or ``"0.3"``.

    Raises:
        ValueError: Not an exact number, outside ``(0, 1]``, or a denominator above
            :data:`MAX_SHARE_DENOMINATOR`.
    """
    if isinstance(value, bool) or not isinstance(value, (Fraction, Decimal, int, str)):
        raise ValueError(f"max_firm_share must be an exact number such as Fraction(1, 4) or "
                         f"'0.25', not {value!r}")
    try:
        share = Fraction(value)
    except (ValueError, ZeroDivisionError, ArithmeticError):
        raise ValueError(f"max_firm_share {value!r} is not a number") from None
    if not 0 < share <= 1:
        raise ValueError(f"max_firm_share must be above 0 and at most 1 (1 switches the "
                         f"dominance rule off), not {value}")
    if share.denominator > MAX_SHARE_DENOMINATOR:
        raise ValueError(f"max_firm_share {value} is too fine: its denominator may be at most "
                         f"{MAX_SHARE_DENOMINATOR} (4 decimals)")
    return share


@dataclass(frozen=True)
class RoundSpec:
    """The agreed parameters of one benchmarking round.

    Attributes:
        name: Human-readable round name, e.g. ``"Bakery benchmark 2026"``.
        kpis: The KPIs, in column order.
        metrics: Per KPI name, the statistics to release.
        min_contributions: Minimum number of valid contributions behind a released statistic.
        radix_bits: Digit width of the quantile walk.
        threshold: How many colluding firms the round withstands (MPyC's ``-T``); None for
            MPyC's default ``(m - 1) // 2`` (see :mod:`smpc_bench.spec.threshold`).
        max_firm_share: The dominance rule: a KPI's sum and mean are released only if no firm
            contributes more than this share of the KPI's total; 1 switches the rule off
            (see :mod:`smpc_bench.spec.disclosure`).
        progress_timeout: Seconds a party may send nothing (no data, no heartbeat) before the
            others stop the round as stalled; agreed, so that every party gives up alike.
    """

    name: str
    kpis: tuple[KpiSpec, ...]
    metrics: tuple[tuple[Metric, ...], ...]
    min_contributions: int = DEFAULT_MIN_CONTRIBUTIONS
    radix_bits: int = DEFAULT_RADIX_BITS
    threshold: int | None = None
    max_firm_share: Fraction = DEFAULT_MAX_FIRM_SHARE
    progress_timeout: int = DEFAULT_PROGRESS_TIMEOUT

    @classmethod
    def create(
        cls,
        name: str,
        kpis: Sequence[KpiSpec],
        metrics: Sequence[Sequence[Metric]] | None = None,
        *,
        min_contributions: int = 5,
        radix_bits: int = DEFAULT_RADIX_BITS,
        threshold: int | None = None,
        max_firm_share: Fraction | Decimal | int | str = DEFAULT_MAX_FIRM_SHARE,
        progress_timeout: int = DEFAULT_PROGRESS_TIMEOUT,
    ) -> RoundSpec:
        """Build a spec; ``metrics`` defaults to :data:`DEFAULT_METRICS` for every KPI."""
        kpis = tuple(kpis)
        if not kpis:
            raise ValueError("a round needs at least one KPI")
        names = [k.name for k in kpis]
        if len(set(names)) != len(names):
            raise ValueError(f"KPI names must be unique, got {names}")
        if metrics is None:
            metrics = [DEFAULT_METRICS] * len(kpis)
        if len(metrics) != len(kpis):
            raise ValueError("one list of statistics per KPI is needed")
        if min_contributions < 3:
            raise ValueError("min_contributions must be at least 3")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, int) or threshold < 1):
            raise ValueError(f"the threshold must be a whole number of at least 1, not "
                             f"{threshold!r}")
        per_kpi = tuple(tuple(dict.fromkeys(m)) for m in metrics)
        return cls(name, kpis, per_kpi, min_contributions, radix_bits, threshold,
                   exact_share(max_firm_share), check_progress_timeout(progress_timeout))

    @property
    def all_metrics(self) -> tuple[Metric, ...]:
        """Every statistic any KPI asks for (each computed once, for all KPIs)."""
        return tuple(dict.fromkeys(m for row in self.metrics for m in row))

    @property
    def dominance_kpis(self) -> tuple[int, ...]:
        """Indices of the KPIs the dominance rule checks: those releasing a sum or mean.

        Empty when the rule is off (``max_firm_share == 1``).
        """
        if self.max_firm_share >= 1:
            return ()
        return tuple(k for k, row in enumerate(self.metrics)
                     if any(m.kind in SUM_BASED_KINDS for m in row))

    def canonical(self) -> str:
        """Canonical JSON text: equal for equal specs, on every machine."""
        document = {
            "name": self.name,
            "kpis": [
                {
                    "name": k.name,
                    "lower": str(k.lower_units),
                    "upper": str(k.lower_units + k.span),
                    "decimals": k.decimals,
                    "unit": k.unit,
                    "higher_is_better": k.higher_is_better,
                }
                for k in self.kpis
            ],
            "metrics": [[m.name for m in row] for row in self.metrics],
            "min_contributions": self.min_contributions,
            "radix_bits": self.radix_bits,
        }
        if self.threshold is not None:  # absent, not null: hashes of older files stay valid
            document["threshold"] = self.threshold
        if self.max_firm_share != 1:  # absent when off: such a spec means what it did before
            document["max_firm_share"] = str(self.max_firm_share)
        if self.progress_timeout != DEFAULT_PROGRESS_TIMEOUT:  # absent at the default, as above
            document["progress_timeout"] = self.progress_timeout
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`canonical`, hex (computed once: the spec is frozen)."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = hashlib.sha256(self.canonical().encode()).hexdigest()
            object.__setattr__(self, "_digest", cached)  # a cache, not a field
        return str(cached)
