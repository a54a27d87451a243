"""Deterministic contract math of the three products, in integer yen where the documents round.

- :mod:`.jhf_insurance` -- JHF rent-debt-guarantee insurance (家賃債務保証保険), seed 003;
- :mod:`.mortgage_fee` -- mortgage guarantee fee and its refund on prepayment, seed 004;
- :mod:`.rent_guarantee` -- rent guarantee fee plans and what a subrogation consists of, seed 000.
"""
