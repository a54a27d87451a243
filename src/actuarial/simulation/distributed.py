"""Running scenario ranges: on local threads or on a Dask distributed cluster.

Both engines split their scenarios into ranges handled by a ``run_range(book, model, seed,
first, stop, step, bar)`` function that returns one array per output, indexed by the
scenarios of the range. Scenario ``s`` always draws from ``SeedSequence(seed,
spawn_key=(s,))``, so where a range runs never changes the result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np


def check_run_arguments(*, n_scenarios, seed, threads, chunk_scenarios, backend) -> None:
    """``ValueError`` naming the argument for a bad count, seed, thread count or backend."""
    for name, v, lo in (("n_scenarios", n_scenarios, 1), ("seed", seed, 0), ("threads", threads, 1),
                        ("chunk_scenarios", chunk_scenarios, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")
    if backend not in ("local", "dask"):
        raise ValueError(f"backend must be 'local' or 'dask', got {backend!r}")


def run_scenarios(run_range, book, model, seed: int, n_scenarios: int, outputs: tuple, *, threads: int,
                  backend: str, client, scheduler, chunk_scenarios: int, bar) -> None:
    """Fill ``outputs`` (arrays with ``n_scenarios`` rows) by running every scenario once."""
    if backend == "dask":
        for first, stop, results in run_on_dask(run_range, book, model, seed, n_scenarios, chunk_scenarios,
                                                client=client, scheduler=scheduler):
            for out, r in zip(outputs, results):
                out[first:stop] = r
            bar.update(stop - first)
        return

    def run(i):
        results = run_range(book, model, seed, i, n_scenarios, threads, bar)
        for out, r in zip(outputs, results):
            out[i::threads] = r

    if threads == 1:
        run(0)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, range(threads)))


def run_on_dask(fn, book, model, seed: int, n_scenarios: int, chunk: int, *, client=None, scheduler=None):
    """Yield ``(first, stop, fn(book, model, seed, first, stop))`` for each chunk, in order.

    Uses ``client`` if given, else connects to ``scheduler``; the book and the model are
    scattered once and shared by every task.
    """
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the install
        raise ValueError("backend='dask' needs Dask distributed: pip install '.[dask]'") from None
    if client is None and scheduler is None:
        raise ValueError("backend='dask' needs a client= or a scheduler= address")
    own = client is None
    if own:
        client = Client(scheduler)
    try:
        book_f, model_f = client.scatter([book, model], broadcast=True)
        bounds = [(a, min(a + chunk, n_scenarios)) for a in range(0, n_scenarios, chunk)]
        futures = [client.submit(fn, book_f, model_f, seed, a, b, pure=False) for a, b in bounds]
        for (a, b), fut in zip(bounds, futures):
            yield a, b, fut.result()
    finally:
        if own:
            client.close()
