"""Run scenario chunks on a Dask distributed cluster (optional: ``pip install .[dask]``)."""

from __future__ import annotations


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
