"""The rent kernel's random stream: numpy's SFC64 bit generator, keyed by ``(seed, scenario)``
(:func:`scenario_rng`), stepped inside the kernel from the state numpy leaves
(:func:`stream_state`, :func:`draw`), word for word as numpy steps it (:func:`stream_words`,
tested against ``random_raw``)."""

from __future__ import annotations

import numba
import numpy as np


def scenario_rng(seed: int, scenario: int) -> np.random.Generator:
    """The random stream of scenario ``scenario``: numpy's SFC64 bit generator seeded with
    ``SeedSequence(seed, spawn_key=(scenario,))``. SFC64 rather than numpy's default PCG64
    because the rent kernel steps the generator itself (:func:`draw`), and SFC64's step is
    a few additions, shifts and a rotation; both pass the standard statistical batteries."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(scenario,))))


def stream_state(rng: np.random.Generator) -> np.ndarray:
    """Where the uniforms of a scenario start: the state of its SFC64 bit generator (after
    the factor ``z``), as the kernel's ``uint64[6]`` ``(a, b, c, counter, high half, has
    high half)``, with no half word pending."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "SFC64":
        raise ValueError(f"the rent kernel draws from an SFC64 stream, got {state['bit_generator']}")
    return np.concatenate([state["state"]["state"], np.zeros(2, np.uint64)]).astype(np.uint64)


@numba.njit(nogil=True, cache=True, inline="always")
def sfc64(a, b, c, w):
    """One step of SFC64 (Doty-Humphrey's small fast chaotic generator) exactly as numpy's
    ``SFC64`` takes it: ``(word, a, b, c, w)`` with ``word = a + b + w`` (mod 2^64), then
    ``a = b ^ (b >> 11)``, ``b = c + (c << 3)``, ``c = rotl(c, 24) + word``, ``w = w + 1``."""
    word = a + b + w
    return (word, b ^ (b >> np.uint64(11)), c + (c << np.uint64(3)),
            ((c << np.uint64(24)) | (c >> np.uint64(40))) + word, w + np.uint64(1))


@numba.njit(nogil=True, cache=True, inline="always")
def draw(rs):
    """The next 32-bit uniform (as an integer, the uniform is ``bits / 2^32``) of the stream
    ``rs`` (:func:`stream_state` as a tuple) and the stream after it: each 64-bit word gives
    two, its low half then its high half, the order of :class:`~.reference.Uniforms`."""
    a, b, c, w, half, has = rs
    if has:
        return np.int64(half), (a, b, c, w, half, False)
    word, a, b, c, w = sfc64(a, b, c, w)
    return np.int64(word & np.uint64(0xFFFFFFFF)), (a, b, c, w, word >> np.uint64(32), True)


@numba.njit(nogil=True, cache=True, inline="always")
def load_stream(st):
    return st[0], st[1], st[2], st[3], st[4], st[5] != 0


@numba.njit(nogil=True, cache=True, inline="always")
def store_stream(st, rs):
    st[0], st[1], st[2], st[3], st[4] = rs[0], rs[1], rs[2], rs[3], rs[4]
    st[5] = np.uint64(1) if rs[5] else np.uint64(0)


@numba.njit(nogil=True, cache=True)
def stream_words(st, n):
    """The next ``n`` 64-bit words of the stream ``st`` (advancing it): what numpy's
    ``random_raw(n)`` gives from the same state, which a test checks."""
    rs = load_stream(st)
    a, b, c, w = rs[0], rs[1], rs[2], rs[3]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i], a, b, c, w = sfc64(a, b, c, w)
    store_stream(st, (a, b, c, w, rs[4], rs[5]))
    return out
