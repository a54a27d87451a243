"""The Dask backend gives the same results as the local run (LocalCluster of 2 processes)."""

from pathlib import Path

import distributed
import numpy as np
import pytest

from actuarial.params import load_params
from actuarial.portfolio import synthetic_rent_book
from actuarial.simulation import RentModel, simulate

BASE = load_params(Path(__file__).resolve().parents[1] / "params" / "base.yaml")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_dask_backend_equals_the_local_run(client):
    model = RentModel.from_params(BASE)
    book = synthetic_rent_book(3_000, seed=12)
    local = simulate(book, model, 90, seed=4)
    remote = simulate(book, model, 90, seed=4, backend="dask", client=client, chunk_scenarios=16)
    assert np.array_equal(local.cash_flows, remote.cash_flows)
    assert local.losses.equals(remote.losses)
    by_address = simulate(book, model, 20, seed=4, backend="dask", scheduler=client.scheduler.address)
    assert np.array_equal(by_address.cash_flows, local.cash_flows[:20])


def test_dask_backend_needs_a_cluster():
    model = RentModel.from_params(BASE)
    with pytest.raises(ValueError, match="needs a client= or a scheduler="):
        simulate(synthetic_rent_book(50, seed=1), model, 2, seed=1, backend="dask")
    with pytest.raises(ValueError, match="backend must be 'local' or 'dask', got 'spark'"):
        simulate(synthetic_rent_book(50, seed=1), model, 2, seed=1, backend="spark")


def test_dask_backend_equals_the_local_run_for_mortgages(client):
    from actuarial.portfolio import synthetic_mortgage_book
    from actuarial.simulation import MortgageModel

    model = MortgageModel.from_params(BASE)
    book = synthetic_mortgage_book(500, seed=3)
    local = simulate(book, model, 24, seed=9, threads=2)
    remote = simulate(book, model, 24, seed=9, backend="dask", client=client, chunk_scenarios=5)
    assert np.array_equal(local.cash_flows, remote.cash_flows)


def test_batch_runs_notebooks_on_a_dask_cluster(client, tmp_path):
    from actuarial import batch

    run_dir, ok = batch.run_batch([Path(__file__).resolve().parents[1] / "params" / "jhf_2025_support.yaml"],
                                  ["01_product_terms"], scheduler=client.scheduler.address,
                                  reports_dir=tmp_path, progress=False)
    assert ok and (run_dir / "jhf_2025_support" / "01_product_terms.html").exists()


def test_dask_backend_equals_the_local_run_for_a_book_in_force(client):
    from actuarial.simulation.rent.inforce import simulate_inforce
    from actuarial.valuation import synthetic_inforce_book

    model = RentModel.from_params(BASE)
    book, _ = synthetic_inforce_book(400, model, seed=5)
    groups = (book["status"] != "performing").to_numpy().astype(int)
    local = simulate_inforce(book, model, 30, seed=2, group_of=groups, n_groups=2)
    remote = simulate_inforce(book, model, 30, seed=2, group_of=groups, n_groups=2, backend="dask", client=client,
                              chunk_scenarios=7)
    assert (groups == 1).sum() > 10
    for a, b in zip(local, remote, strict=True):
        assert np.array_equal(a, b)


def test_dask_backend_equals_the_local_run_for_a_mortgage_book_in_force(client):
    from actuarial.simulation import MortgageModel
    from actuarial.simulation.mortgage_inforce import simulate_mortgage_groups
    from actuarial.valuation.synthetic import synthetic_inforce_mortgage_book

    model = MortgageModel.from_params(BASE)
    book = synthetic_inforce_mortgage_book(3_000, model, seed=5)
    group = (book["status"] != "performing").to_numpy().astype(int)
    assert group.sum() >= 10
    local = simulate_mortgage_groups(book, model, 20, 3, group, threads=2)
    remote = simulate_mortgage_groups(book, model, 20, 3, group, backend="dask", client=client, chunk_scenarios=6)
    for a, b in zip(local, remote, strict=True):
        assert np.array_equal(a, b)
