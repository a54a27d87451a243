"""Synthetic books for examples, tests and benchmarks (deterministic from a seed).

Real books come from the user as DataFrames with the columns
:data:`actuarial.simulation.rent.PORTFOLIO_COLUMNS`; these generators only make
plausible stand-ins of any size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .products.jhf_insurance import SUPPORT_CATEGORIES, JHFTerms


def synthetic_rent_book(n_contracts: int, seed: int, *, plans=("zenhoren_yearly", "zenhoren_one_time", "monthly"),
                        grades=("A", "B", "C"), grade_shares=(0.5, 0.35, 0.15), insured_share: float = 0.3,
                        ) -> pd.DataFrame:
    """A rent-guarantee book of ``n_contracts`` rows.

    Rents are log-normal around 75,000 yen rounded to 1,000 yen (assumption); management
    fees 0-8,000; a third have parking at 10,000. About 60% of tenants fit one of the JHF
    support categories with all other conditions met; ``insured_share`` of the whole book is
    insured, drawn only from the eligible contracts (raises if there are too few).

    >>> b = synthetic_rent_book(1_000, seed=1)
    >>> len(b), int(b["insured"].sum()), bool(JHFTerms().eligibility(b[b["insured"]])["eligible"].all())
    (1000, 300, True)
    """
    for name, v in (("n_contracts", n_contracts), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if name == "n_contracts" else 0):
            raise ValueError(f"{name} must be a whole number >= {1 if name == 'n_contracts' else 0}, got {v!r}")
    if len(grades) != len(grade_shares) or not np.isclose(sum(grade_shares), 1.0):
        raise ValueError(f"grade_shares must give one share per grade summing to 1, got {grade_shares!r}")
    if isinstance(insured_share, bool) or not 0 <= insured_share <= 1:
        raise ValueError(f"insured_share must be in [0, 1], got {insured_share!r}")
    rng = np.random.default_rng(seed)
    n = n_contracts
    rent = (np.round(np.exp(rng.normal(np.log(75_000), 0.35, n)) / 1_000) * 1_000).astype(np.int64)
    rent = np.clip(rent, 20_000, 500_000)
    support = rng.random(n) < 0.6
    cats = np.where(support, rng.choice(np.array(SUPPORT_CATEGORIES, dtype=object), n), "")
    book = pd.DataFrame({
        "rent_yen": rent,
        "management_fee_yen": (rng.integers(0, 9, n) * 1_000).astype(np.int64),
        "common_fee_yen": np.zeros(n, dtype=np.int64),
        "parking_fee_yen": np.where(rng.random(n) < 1 / 3, 10_000, 0).astype(np.int64),
        "plan": rng.choice(np.array(plans, dtype=object), n),
        "grade": rng.choice(np.array(grades, dtype=object), n, p=np.asarray(grade_shares, dtype=float)),
        "support_categories": cats,
        "registered_dwelling": support,
        "monthly_income_yen": (rent * rng.uniform(1.8, 4.0, n)).astype(np.int64),
        "other_guarantor": np.zeros(n, dtype=bool),
        "antisocial": np.zeros(n, dtype=bool),
        "identity_verified": np.ones(n, dtype=bool),
        "consent_to_jhf": support,
    })
    book["rent_at_start_yen"] = book["rent_yen"] + book["management_fee_yen"] + book["common_fee_yen"]
    eligible = np.flatnonzero(JHFTerms.eligibility(book)["eligible"].to_numpy())
    k = int(round(insured_share * n))
    if k > len(eligible):
        raise ValueError(f"insured_share={insured_share} needs {k} eligible contracts, the book has {len(eligible)}")
    insured = np.zeros(n, dtype=bool)
    insured[rng.choice(eligible, k, replace=False)] = True
    book["insured"] = insured
    return book
