"""Running scenarios: on local threads or on a Dask distributed cluster.

Each engine has a ``run_into(book, model, seed, jobs, outputs, bar)`` function: for each
``(row, scenario)`` pair that the iterable ``jobs`` yields, it runs that scenario and writes
its results into row ``row`` of each array of ``outputs`` (the arrays an engine adds into
come zeroed). Scenario ``s`` always draws from ``SeedSequence(seed, spawn_key=(s,))``, so
where and in which order a scenario runs never changes the result.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

#: Set to ``"0"`` to keep the default progress bar off (``actuarial batch`` sets it for the
#: notebooks it runs, so that no bar lands in a report).
PROGRESS_ENV = "ACTUARIAL_PROGRESS"


#: How many threads a local run uses when its call names none (every core when unset).
#: ``actuarial batch`` sets it to 1 for the notebooks it runs (unless it is set already):
#: they run side by side, one a core.
THREADS_ENV = "ACTUARIAL_THREADS"


def default_threads() -> int:
    """The threads a local run uses when ``threads`` is None: :data:`THREADS_ENV` if set,
    else every core this process may use. Results never depend on it."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:  # the cores this process may run on (a container's cpuset), else all
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"environment variable {THREADS_ENV} must be a whole number >= 1, got {value!r}")
    return int(value)


def check_run_arguments(*, n_scenarios, seed, threads, chunk_scenarios, backend, claims=0) -> int:
    """``ValueError`` naming the argument for a bad count, seed, thread count, backend or
    claim count (``claims``, 0 to ``n_scenarios``). Returns the threads to run on:
    ``threads``, or :func:`default_threads` for None."""
    threads = default_threads() if threads is None else threads
    for name, v, lo in (("n_scenarios", n_scenarios, 1), ("seed", seed, 0), ("threads", threads, 1),
                        ("chunk_scenarios", chunk_scenarios, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")
    if isinstance(claims, bool) or not isinstance(claims, (int, np.integer)) or not 0 <= claims <= n_scenarios:
        raise ValueError(f"claims must be a whole number of scenarios from 0 to n_scenarios ({n_scenarios}), "
                         f"got {claims!r}")
    if backend not in ("local", "dask"):
        raise ValueError(f"backend must be 'local' or 'dask', got {backend!r}")
    return threads


def _interactive() -> bool:
    """Whether someone is watching: a terminal, or a Jupyter kernel (JupyterLab), unless
    :data:`PROGRESS_ENV` is ``"0"``."""
    if os.environ.get(PROGRESS_ENV) == "0":
        return False
    if sys.stderr.isatty():
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def progress_bar(progress, n_scenarios: int, work: int, threshold: int) -> tqdm:
    """The run's tqdm bar over its scenarios. ``progress`` True or False shows it or not; None
    (the default) shows it for runs of ``work >= threshold`` (contract- or loan-scenarios:
    about a second and more) when someone is watching (:func:`_interactive`), so tests,
    papermill batches and small notebook runs stay quiet."""
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(f"progress must be True, False or None, got {progress!r}")
    if progress is None:
        progress = work >= threshold and _interactive()
    return tqdm(total=n_scenarios, unit="scenario", disable=not progress)


def run_scenarios(run_into, book, model, seed: int, n_scenarios: int, outputs: tuple, *, threads: int,
                  backend: str, client, scheduler, chunk_scenarios: int, bar) -> None:
    """Fill ``outputs`` (arrays with ``n_scenarios`` rows) by running every scenario once.

    Local threads take the scenarios one at a time from a shared counter (under a lock), so a
    thread that is slowed, or that draws the heavier scenarios of a bad economy, takes fewer
    of them: the threads finish within one scenario of each other. Handing each thread every
    ``threads``-th scenario instead left one up to 3% behind the other on the reference
    workload.
    """
    if backend == "dask":
        for first, stop, results in run_on_dask(run_into, book, model, seed, n_scenarios, chunk_scenarios,
                                                [(o.shape[1:], o.dtype) for o in outputs], client=client,
                                                scheduler=scheduler):
            for out, r in zip(outputs, results, strict=True):
                out[first:stop] = r
            bar.update(stop - first)
        return
    threads = min(threads, n_scenarios)
    if threads == 1:
        run_into(book, model, seed, ((s, s) for s in range(n_scenarios)), outputs, bar)
        return
    lock = threading.Lock()
    taken = [0]  # scenarios handed out so far

    def jobs():
        while True:
            with lock:
                s = taken[0]
                taken[0] += 1
            if s >= n_scenarios:
                return
            yield s, s

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: run_into(book, model, seed, jobs(), outputs, bar), range(threads)))


def run_range(run_into, book, model, seed: int, first: int, stop: int, layout) -> list:
    """Scenarios ``first`` to ``stop - 1`` into new arrays, one for each ``(shape, dtype)`` of
    ``layout`` (a row's), row ``i`` for scenario ``first + i``: a Dask task."""
    outputs = [np.zeros((stop - first, *shape), dtype=dtype) for shape, dtype in layout]
    run_into(book, model, seed, ((s - first, s) for s in range(first, stop)), outputs, None)
    return outputs


def run_on_dask(run_into, book, model, seed: int, n_scenarios: int, chunk: int, layout, *, client=None,
                scheduler=None):
    """Yield ``(first, stop, run_range(run_into, book, model, seed, first, stop, layout))``
    for each chunk, in order.

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
        futures = [client.submit(run_range, run_into, book_f, model_f, seed, a, b, layout, pure=False)
                   for a, b in bounds]
        for (a, b), fut in zip(bounds, futures, strict=True):
            yield a, b, fut.result()
    finally:
        if own:
            client.close()
