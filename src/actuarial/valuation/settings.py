"""What a quarter close is valued on: the valuation date and the fiscal calendar, the
ageing buckets of receivables, the stage rules, the discount rate of the allowance and the
period over which rent-guarantee fees are earned (:class:`ValuationSettings`)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from ..collection import TRANSIENT_STATES
from ..params import STAGE_3_STATES  # the default stage-3 states, from the final notice on
from ..products.common import check_count, is_real, to_date


@dataclasses.dataclass(frozen=True)
class ValuationSettings:
    """A quarter close's settings.

    - ``valuation_date``: a month end; projection month 1 is the month after it;
    - ``fiscal_year_end_month``: 3 (March) by default; some guarantors close in January;
    - ``ageing_edges_months``: receivables owed up to each edge (inclusive) fall in its
      bucket, the rest in the last; closed receivables have a bucket of their own;
    - ``stage_2_months_owed``, ``stage_3_months_owed``, ``stage_3_states``: a contract in
      collection owing at least ``stage_3_months_owed`` months, or in one of
      ``stage_3_states``, is stage 3; owing at least ``stage_2_months_owed`` months, stage 2;
      otherwise, and every performing contract, stage 1;
    - ``discount_annual_rate``: the allowance's expected recoveries are discounted at it;
    - ``fee_earning_months``: a rent-guarantee fee is earned straight-line over this many
      months from when it is charged.
    """

    valuation_date: dt.date
    fiscal_year_end_month: int = 3
    ageing_edges_months: tuple = (3, 12)
    stage_2_months_owed: int = 1
    stage_3_months_owed: int = 3
    stage_3_states: tuple = STAGE_3_STATES
    discount_annual_rate: float = 0.0
    fee_earning_months: int = 12

    def __post_init__(self):
        date = to_date("valuation_date", self.valuation_date)
        if (date + dt.timedelta(days=1)).day != 1:
            raise ValueError(f"valuation_date must be the last day of a month (a quarter close is valued at a month "
                             f"end), got {date.isoformat()}")
        object.__setattr__(self, "valuation_date", date)
        month = check_count("fiscal_year_end_month", self.fiscal_year_end_month, minimum=1)
        if month > 12:
            raise ValueError(f"fiscal_year_end_month must be 1-12, got {month!r}")
        edges = tuple(self.ageing_edges_months)
        for e in edges:
            check_count("ageing_edges_months", e, minimum=1)
        if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ValueError(f"ageing_edges_months must increase, got {list(edges)!r}")
        object.__setattr__(self, "ageing_edges_months", edges)
        check_count("stage_2_months_owed", self.stage_2_months_owed, minimum=1)
        check_count("stage_3_months_owed", self.stage_3_months_owed, minimum=1)
        if self.stage_3_months_owed < self.stage_2_months_owed:
            raise ValueError(f"stage_3_months_owed ({self.stage_3_months_owed}) must not be below "
                             f"stage_2_months_owed ({self.stage_2_months_owed})")
        unknown = [s for s in self.stage_3_states if s not in TRANSIENT_STATES]
        if unknown:
            raise ValueError(f"stage_3_states names {unknown[0]!r}, which is not a collection state; "
                             f"known: {', '.join(TRANSIENT_STATES)}")
        object.__setattr__(self, "stage_3_states", tuple(self.stage_3_states))
        r = self.discount_annual_rate
        if not is_real(r) or not 0.0 <= float(r) <= 0.2:
            raise ValueError(f"discount_annual_rate must be a number in [0, 0.2], got {r!r}")
        check_count("fee_earning_months", self.fee_earning_months, minimum=1)

    # -- the calendar ----------------------------------------------------------------------
    def month_end(self, months) -> list[dt.date]:
        """The last day of each projection month (month ``t`` is ``t`` months after the
        valuation date's month; month 0 is that month)."""
        out = []
        for t in np.atleast_1d(months):
            y, m = divmod(self.valuation_date.month - 1 + int(t), 12)
            first_next = dt.date(self.valuation_date.year + y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
            out.append(first_next - dt.timedelta(days=1))
        return out

    def fiscal_quarter(self, months) -> list[str]:
        """Each projection month's fiscal quarter, named as Japanese companies name them by
        the year-end (``2027年3月期 第1四半期``): ``FY2027/03 Q1`` is April-June 2026 for a
        March year-end. Quarter 1 starts the month after ``fiscal_year_end_month``.

        >>> ValuationSettings("2026-12-31").fiscal_quarter([0, 1, 4])
        ['FY2027/03 Q3', 'FY2027/03 Q4', 'FY2028/03 Q1']
        >>> ValuationSettings("2026-12-31", fiscal_year_end_month=1).fiscal_quarter([1, 2])
        ['FY2027/01 Q4', 'FY2028/01 Q1']
        """
        end = self.fiscal_year_end_month
        labels = []
        for d in self.month_end(months):
            into = (d.month - end - 1) % 12  # months into the fiscal year
            end_year = d.year if d.month <= end else d.year + 1
            labels.append(f"FY{end_year}/{end:02d} Q{into // 3 + 1}")
        return labels

    def fiscal_year(self, months) -> list[str]:
        """Each projection month's fiscal year, named by its year-end: ``FY2027/03``.

        >>> ValuationSettings("2026-12-31").fiscal_year([3, 4])
        ['FY2027/03', 'FY2028/03']
        """
        return [label.split(" ")[0] for label in self.fiscal_quarter(months)]

    def discount(self, months) -> np.ndarray:
        """``(1 + discount_annual_rate)^(-t / 12)`` for each month ``t``."""
        return (1.0 + float(self.discount_annual_rate)) ** (-np.asarray(months, dtype=float) / 12.0)

    def bucket_labels(self) -> list[str]:
        """The ageing buckets' names: ``up to 3 months``, ``3-12 months``, ``over 12 months``
        for the default edges, then ``closed``."""
        e = self.ageing_edges_months
        return ([f"up to {e[0]} months"] + [f"{a}-{b} months" for a, b in zip(e, e[1:], strict=False)]
                + [f"over {e[-1]} months", "closed"])

    def bucket(self, months_owed: np.ndarray) -> np.ndarray:
        """The ageing bucket of receivables owed ``months_owed`` months (an edge is in the
        bucket it closes)."""
        return np.searchsorted(np.array(self.ageing_edges_months), np.asarray(months_owed), side="left")

    def stage(self, state: np.ndarray, months_owed: np.ndarray) -> np.ndarray:
        """Stage 1, 2 or 3 of each contract: ``state`` its state code (-1 performing) in
        :data:`~actuarial.collection.TRANSIENT_STATES` order, ``months_owed`` its months owed."""
        state, owed = np.asarray(state), np.asarray(months_owed)
        late = np.isin(state, [TRANSIENT_STATES.index(s) for s in self.stage_3_states])
        collecting = state >= 0
        return np.where(collecting & (late | (owed >= self.stage_3_months_owed)), 3,
                        np.where(collecting & (owed >= self.stage_2_months_owed), 2, 1))
