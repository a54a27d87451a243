"""Tables the notebooks show, built from the product calculators (pure functions)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from .products.common import require_frame
from .products.jhf_insurance import JHFTerms
from .products.mortgage_fee import FeeCurve, refund, refund_ratio_pct


def jhf_payout_grid(terms: JHFTerms, *, rents_yen, months_unpaid) -> pd.DataFrame:
    """Payout for every (monthly rent, months unpaid), with each limit and which binds.

    The subrogated rent is ``rent x months``; one row per pair.

    >>> g = jhf_payout_grid(JHFTerms(), rents_yen=[100_000], months_unpaid=[14])
    >>> g[["payout_yen", "binding"]].values.tolist()
    [[840000, 'months']]
    """
    r, m = np.meshgrid(np.asarray(rents_yen, dtype=np.int64), np.asarray(months_unpaid, dtype=np.int64), indexing="ij")
    r, m = r.ravel(), m.ravel()
    sub = r * m
    limits = terms.payout_limits(subrogated_rent=sub, rent_at_start=r)
    out = pd.DataFrame({"rent_yen": r, "months_unpaid": m, "subrogated_yen": sub})
    for name, v in limits.items():
        out[f"limit_{name}_yen"] = np.broadcast_to(v, sub.shape)
    out["payout_yen"] = terms.payout(subrogated_rent=sub, rent_at_start=r)
    out["binding"] = terms.binding_limit(subrogated_rent=sub, rent_at_start=r)
    return out


def refund_table(*, months_elapsed, unearned_fee_yen, fee_paid_yen, transfer_fee_yen=0, schedule=None) -> pd.DataFrame:
    """Refund and refund ratio for given unearned fees, as in the Zenkoku Hosho table: the refund
    truncated to the yen, the ratio to the fee paid rounded half-up to 0.1%
    (:func:`~actuarial.products.mortgage_fee.refund`, ``refund_ratio_pct``).

    The published table (Zenkoku Hosho fee disclosure), from its unearned fees:

    >>> from actuarial.products.mortgage_fee import PUBLISHED_EXAMPLE, PUBLISHED_FEE_PAID_YEN
    >>> t = refund_table(months_elapsed=PUBLISHED_EXAMPLE["months_elapsed"],
    ...                  unearned_fee_yen=PUBLISHED_EXAMPLE["unearned_fee_yen"], fee_paid_yen=PUBLISHED_FEE_PAID_YEN)
    >>> t[["refund_yen", "refund_ratio_pct"]].values.tolist()[:3]
    [[510789.0, 88.2], [445468.0, 76.9], [386461.0, 66.8]]
    >>> bool((t[["refund_yen", "refund_ratio_pct"]].values
    ...       == PUBLISHED_EXAMPLE[["refund_yen", "refund_ratio_pct"]].values).all())
    True
    """
    kwargs = {} if schedule is None else {"schedule": schedule}
    m = np.asarray(months_elapsed, dtype=np.int64)
    u = np.asarray(unearned_fee_yen, dtype=np.int64)
    ref = refund(unearned_fee=u, months_elapsed=m, transfer_fee=transfer_fee_yen, **kwargs)
    return pd.DataFrame({
        "months_elapsed": m,
        "unearned_fee_yen": u,
        "refund_yen": ref,
        "refund_ratio_pct": [refund_ratio_pct(int(x), fee_paid_yen) for x in ref],
    })


def fee_curve_parameters(curve: FeeCurve) -> pd.DataFrame:
    """The curve's parameters and fit summary as a two-column table a person reads.

    >>> fee_curve_parameters(FeeCurve(30_000_000, 30, 0.0015, 0.01, 0.01, 1))["parameter"].tolist()[:3]
    ['principal (yen)', 'term (years)', 'fee, annual rate']
    """
    rows = [
        ("principal (yen)", f"{curve.principal_yen:,d}"),
        ("term (years)", f"{curve.term_years:d}"),
        ("fee, annual rate", f"{curve.fee_annual_rate:.4%}"),
        ("schedule's loan rate (a shape of the curve, not a borrower's rate)", f"{curve.loan_annual_rate:.2%}"),
        ("schedule's discount rate (a shape of the curve)", f"{curve.discount_annual_rate:.2%}"),
        ("the loan month counted as month", f"{curve.month_offset:d}"),
        ("lump sum (yen)", f"{curve.lump_sum():,d}"),
    ]
    if curve.fit is not None:
        rows += [
            ("largest relative error of the fit", f"{np.abs(curve.fit['relative_error']).max():.4%}"),
            ("root mean square error of the fit (yen)", f"{np.sqrt(np.mean(curve.fit['residual_yen'] ** 2)):,.2f}"),
        ]
    return pd.DataFrame(rows, columns=["parameter", "value"])


def jhf_cap_summary(grid: pd.DataFrame, terms: JHFTerms) -> pd.DataFrame:
    """Per rent in a :func:`jhf_payout_grid`: the premium, the largest payout, the first
    month at which it is reached and the limit that binds there.

    >>> g = jhf_payout_grid(JHFTerms(), rents_yen=[100_000, 150_000], months_unpaid=range(25))
    >>> jhf_cap_summary(g, JHFTerms()).values.tolist()
    [[100000, 25000, 840000, 12, 'months'], [150000, 37500, 1000000, 10, 'yen']]
    """
    rows = []
    for rent, g in grid.groupby("rent_yen", sort=True):
        top = int(g["payout_yen"].max())
        first = g[g["payout_yen"] == top].sort_values("months_unpaid").iloc[0]
        last = g.sort_values("months_unpaid").iloc[-1]
        rows.append((int(rent), terms.premium(rent=int(rent)), top, int(first["months_unpaid"]), last["binding"]))
    return pd.DataFrame(rows, columns=["rent_yen", "premium_yen", "max_payout_yen", "months_to_max", "binding_limit"])


#: The monthly-total bands of :func:`loss_per_claim`, yen: the lower edges.
RENT_BAND_EDGES_YEN = (0, 50_000, 75_000, 100_000, 150_000)


def loss_per_claim(claims: pd.DataFrame, edges_yen=RENT_BAND_EDGES_YEN) -> pd.DataFrame:
    """The loss per claim by the flat's monthly total: of the collection episodes that ended
    the tenancy (``SimulationResult.claims`` rows whose exit is tenancy-ending), the count and
    the median, mean and largest net loss in yen, by band of ``monthly_total_yen`` (lower
    edges ``edges_yen``, each band up to the next edge; totals below the first edge are left
    out, so the default starts at 0).

    >>> rows = pd.DataFrame({"exit": ["skip", "cure", "skip", "settlement"], "monthly_total_yen": [40_000, 60_000,
    ...                      60_000, 200_000], "net_loss_yen": [300_000, 0, 500_000, 900_000]})
    >>> loss_per_claim(rows)["claims"].tolist()
    [1, 1, 0, 0, 1]
    """
    from .collection import TENANCY_ENDING_EXITS

    require_frame(claims, ("exit", "monthly_total_yen", "net_loss_yen"), "claims")
    edges = list(edges_yen) if isinstance(edges_yen, (list, tuple, np.ndarray)) else None
    if not edges or any(isinstance(e, (bool, np.bool_)) or not isinstance(e, (int, np.integer)) or e < 0
                        for e in edges) or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"edges_yen must be whole yen >= 0 that increase, got {edges_yen!r}")
    edges = [int(e) for e in edges]
    ended = claims[claims["exit"].astype(str).isin(TENANCY_ENDING_EXITS)]
    labels = [f"{a:,}-{b - 1:,}" for a, b in itertools.pairwise(edges)] + [f"{edges[-1]:,}+"]
    band = pd.cut(ended["monthly_total_yen"], bins=[*edges, np.inf], right=False, labels=labels)
    loss = ended["net_loss_yen"].astype(float).groupby(band, observed=False)
    out = pd.DataFrame({"claims": loss.size(), "median_loss_yen": loss.median(), "mean_loss_yen": loss.mean(),
                        "max_loss_yen": loss.max()})
    out.index.name = "monthly total (yen)"
    return out


#: The columns of :func:`~actuarial.pricing.break_even_fees` that are the same on each of a
#: plan's rows (one row a fee component).
PLAN_COLUMNS = ("expected_net_loss_yen", "standard_error_yen", "required_fees_yen", "current_fees_yen",
                "fee_multiplier")


def break_even_tables(fees: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`~actuarial.pricing.break_even_fees` as two tables a person reads: one row a
    plan (its loss, fees and multiplier, the columns it has of :data:`PLAN_COLUMNS`), and one
    row a fee component with its current and break-even terms as text in their own unit (a
    ``_yen`` component in yen, a rate as a percentage, "—" where no value within the search
    bound meets the target).

    >>> fees = pd.DataFrame({"plan": ["p", "p"], "component": ["initial_rate", "renewal_yen"],
    ...                      "fee_multiplier": [1.5, 1.5], "current": [0.5, 10000.0], "break_even": [0.75, 15000.0]})
    >>> plans, terms = break_even_tables(fees)
    >>> plans.to_dict("index"), terms.values.tolist()
    ({'p': {'fee_multiplier': 1.5}}, [['50.00%', '75.00%'], ['10,000 yen', '15,000 yen']])
    """
    require_frame(fees, ("plan", "component", "current", "break_even"), "break-even fees")
    plans = fees.groupby("plan", sort=False)[[c for c in PLAN_COLUMNS if c in fees.columns]].first()
    terms = fees.set_index(["plan", "component"])[["current", "break_even"]].copy()
    in_yen = terms.index.get_level_values("component").str.endswith("_yen")
    for c in terms.columns:
        terms[c] = ["—" if pd.isna(v) else f"{v:,.0f} yen" if yen else f"{v:.2%}"  # NaN: out of its search bound
                    for v, yen in zip(terms[c], in_yen, strict=True)]
    return plans, terms
