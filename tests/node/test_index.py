"""The PDQ index finds exactly what brute force finds, through adds, removes and compactions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeitdown.node.index import PdqIndex


def _random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8).view(np.uint64)


def _flip(code: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy().view(np.uint8)
    for b in rng.choice(256, size=k, replace=False):
        out[b // 8] ^= np.uint8(1 << (b % 8))
    return out.view(np.uint64)


def _brute(codes: np.ndarray, labels: np.ndarray, q: np.ndarray, thr: int) -> list[tuple[int, int]]:
    d = np.bitwise_count(codes ^ q).sum(axis=1)
    return sorted((int(labels[i]), int(d[i])) for i in np.nonzero(d <= thr)[0])


def _queries(rng: np.random.Generator, codes: np.ndarray, n: int) -> np.ndarray:
    qs = [_flip(codes[rng.integers(len(codes))], int(rng.integers(0, 40)), rng) for _ in range(n // 2)]
    qs += list(_random_codes(rng, n - n // 2))
    return np.array(qs).reshape(-1, 4)


@pytest.mark.parametrize("n", [1, 50, 5000, 60_000])
def test_search_equals_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    codes = _random_codes(rng, n)
    # planted clusters: many near copies of a few hashes, as real lists have
    for i in range(0, min(n, 300), 3):
        codes[i] = _flip(codes[0], int(rng.integers(0, 32)), rng)
    labels = np.arange(n, dtype=np.int64) * 7 + 3
    idx = PdqIndex()
    idx.build(codes, labels)
    qs = _queries(rng, codes, 200)
    qs[0] = codes[0]
    res = idx.search(qs)
    for q, got in zip(qs, res, strict=True):
        assert sorted(got) == _brute(codes, labels, q, 31)
    for q, got in zip(qs[:50], idx.search(qs[:50], threshold=10), strict=True):
        assert sorted(got) == _brute(codes, labels, q, 10)


def test_adds_removes_and_compaction_stay_exact() -> None:
    rng = np.random.default_rng(1)
    codes = _random_codes(rng, 3000)
    labels = np.arange(3000, dtype=np.int64)
    idx = PdqIndex(buffer_limit=10**9)
    idx.build(codes[:2000], labels[:2000])
    for i in range(2000, 3000):  # into the buffer
        idx.add(int(labels[i]), codes[i])
    removed = set(rng.choice(3000, size=600, replace=False).tolist())
    for i in removed:
        assert idx.remove(int(labels[i]), codes[i])
    assert not idx.remove(123456, codes[0])
    keep = np.array([i not in removed for i in range(3000)])
    qs = np.concatenate([_queries(rng, codes, 100), codes[list(removed)[:20]]])
    for q, got in zip(qs, idx.search(qs), strict=True):
        assert sorted(got) == _brute(codes[keep], labels[keep], q, 31)
    assert len(idx) == keep.sum()
    idx.compact()
    assert idx._buf_n == 0 and len(idx) == keep.sum()
    for q, got in zip(qs, idx.search(qs), strict=True):
        assert sorted(got) == _brute(codes[keep], labels[keep], q, 31)


def test_hex_codes_and_same_code_under_two_labels() -> None:
    idx = PdqIndex()
    a = "f" * 64
    idx.build([a, a, "0" * 64], [1, 2, 3])
    assert sorted(idx.search_one(a)) == [(1, 0), (2, 0)]
    assert idx.remove(2, a)
    assert idx.search_one(a) == [(1, 0)]
    near = "7" + "f" * 63
    assert idx.search_one(near) == [(1, 1)]
    with pytest.raises(ValueError):
        idx.search_one(a, threshold=40)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=40),
    st.integers(0, 2**256 - 1),
    st.integers(0, 31),
)
def test_property_matches_brute_force(values: list[int], query: int, thr: int) -> None:
    hexes = [f"{v:064x}" for v in values]
    idx = PdqIndex()
    idx.build(hexes, list(range(len(hexes))))
    want = sorted(
        (i, (v ^ query).bit_count()) for i, v in enumerate(values) if (v ^ query).bit_count() <= thr
    )
    assert sorted(idx.search_one(f"{query:064x}", threshold=thr)) == want


def test_compaction_in_background_while_updating() -> None:
    import threading

    rng = np.random.default_rng(2)
    n = 150_000
    codes = _random_codes(rng, n + 2000)
    labels = np.arange(n + 2000, dtype=np.int64)
    idx = PdqIndex(buffer_limit=10**9)
    idx.build(codes[:n], labels[:n])
    for i in range(n, n + 1000):
        idx.add(int(labels[i]), codes[i])
    t = threading.Thread(target=idx.compact)
    t.start()
    removed = set()
    for i in range(n + 1000, n + 2000):  # adds during the build
        idx.add(int(labels[i]), codes[i])
    for i in rng.choice(n + 2000, size=500, replace=False).tolist():  # removes during the build
        assert idx.remove(int(labels[i]), codes[i])
        removed.add(i)
    t.join()
    keep = np.array([i not in removed for i in range(n + 2000)])
    assert len(idx) == keep.sum()
    qs = np.concatenate([codes[sorted(removed)[:30]], codes[n - 10 : n + 30], _queries(rng, codes, 40)])
    for q, got in zip(qs, idx.search(qs), strict=True):
        assert sorted(got) == _brute(codes[keep], labels[keep], q, 31)


def test_unlabelled_index_reports_codes() -> None:
    rng = np.random.default_rng(4)
    codes = _random_codes(rng, 20_000)
    hexes = [c.tobytes().hex() for c in codes]
    idx = PdqIndex(labelled=False)
    idx.build(codes)
    idx.add(0, codes[5])  # a second copy, in the buffer
    q = _flip(codes[5], 7, rng)
    assert sorted(idx.search(q)[0]) == [(hexes[5], 7), (hexes[5], 7)]
    assert idx.remove(0, hexes[5]) and idx.remove(0, hexes[5]) and not idx.remove(0, hexes[5])
    assert idx.search(q)[0] == []
    qs = _queries(rng, codes, 100)
    for qq, got in zip(qs, idx.search(qs), strict=True):
        d = np.bitwise_count(codes ^ qq).sum(axis=1)
        want = sorted((hexes[i], int(d[i])) for i in np.nonzero(d <= 31)[0] if i != 5)
        assert sorted(got) == want


def test_four_byte_row_ids_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # Above 2**24 stored hashes row ids take 4 bytes; lower the limit to take that path here.
    from takeitdown.node import index

    monkeypatch.setattr(index, "ID3_MAX_ROWS", 1000)
    rng = np.random.default_rng(5)
    codes = _random_codes(rng, 5000)
    for i in range(0, 300, 3):
        codes[i] = _flip(codes[0], int(rng.integers(0, 32)), rng)
    labels = np.arange(5000, dtype=np.int64)
    idx = PdqIndex()
    idx.build(codes, labels)
    assert idx._segment is not None and idx._segment.idb == 4
    qs = _queries(rng, codes, 200)
    for q, got in zip(qs, idx.search(qs), strict=True):
        assert sorted(got) == _brute(codes, labels, q, 31)


def test_select_in_word_both_ways() -> None:
    # Bucket lookups find the j-th set bit of a word: with BMI2 pdep where it is fast, else a
    # popcount search. Both must agree with a plain reference on every j.
    from takeitdown.node import _kernels as K

    rng = np.random.default_rng(6)
    words = [np.uint64(w) for w in rng.integers(0, 2**63, size=200, dtype=np.int64)]
    words += [np.uint64(2**64 - 1), np.uint64(1), np.uint64(2**63), np.uint64(0x8000000000000001)]
    ways = [K.select_popcount] + ([K.select_pdep] if K.FAST_PDEP else [])
    checked = 0
    for w in words:
        ones = [b for b in range(64) if (int(w) >> b) & 1]
        for j, bit in enumerate(ones, start=1):
            for select in ways:
                assert select(w, j) == bit
                checked += 1
    assert checked > 200 * 30 * len(ways)


def test_probe_radius_is_exact_up_to_it_and_never_reports_beyond_the_threshold() -> None:
    """An index probed for less than its threshold (the window indexes) finds everything within
    the probe radius, verifies every report against the threshold, and finds a farther copy whose
    differences bunch up in a few chunks (as a misaligned window's do) but not, in general, one
    whose differences spread evenly over every chunk."""
    rng = np.random.default_rng(19)
    codes = _random_codes(rng, 20_000)
    labels = np.arange(len(codes), dtype=np.int64)
    idx = PdqIndex(threshold=31, probe_radius=19, width=24)
    idx.build(codes, labels)
    qs = _queries(rng, codes, 300)
    for q, got in zip(qs, idx.search(qs), strict=True):
        exact = _brute(codes, labels, q, 31)
        assert set(got) <= set(exact)  # never beyond the threshold
        assert {g for g in exact if g[1] <= 19} <= set(got)  # exact up to the probe radius
    # 30 flipped bits: bunched into the first 5 chunks' bits (tables cover 24 of every 25 bits)
    bunched = _flip_bits(codes[7], [t * 25 + k for t in range(5) for k in range(6)])
    assert (7, 30) in idx.search(bunched)[0]
    # 30 flipped bits: 3 in each of the 10 chunks, so no chunk is within one bit
    spread = _flip_bits(codes[7], [t * 25 + k for t in range(10) for k in range(3)])
    assert (7, 30) not in idx.search(spread)[0]
    exact_index = PdqIndex(threshold=31, width=24)
    exact_index.build(codes, labels)
    assert (7, 30) in exact_index.search(spread)[0]  # what the cheaper probes give up


def _flip_bits(code: np.ndarray, bits: list[int]) -> np.ndarray:
    """Flip bits of the index's own bit numbering (bit b of the (4,) uint64 words, little-endian)."""
    out = code.copy().reshape(4)
    for b in bits:
        out[b // 64] ^= np.uint64(1 << (b % 64))
    return out.reshape(1, 4)
