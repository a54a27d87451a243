"""Deterministic contract math of the three products, in integer yen where the documents round.

- :mod:`.jhf_insurance` -- JHF rent-debt-guarantee insurance (家賃債務保証保険), docs/domain.md §2;
- :mod:`.mortgage_fee` -- mortgage guarantee fee and its refund on prepayment, docs/domain.md §3;
- :mod:`.rent_guarantee` -- rent guarantee fee plans and what a subrogation consists of, docs/domain.md §1.
"""
