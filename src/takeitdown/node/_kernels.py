# mypy: ignore-errors
# (numba kernels: intrinsics and numba scalar types are beyond what mypy can check)
"""Compiled inner loops of the PDQ index (numba): bucket lookup, probing, verification.

Kept apart from `index.py` so the data-structure code reads as plain Python. Everything here
works on flat numpy arrays; bit i of a 256-bit code is bit (i % 64) of uint64 word i // 64.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _popcnt(typingctx, x):  # type: ignore[no-untyped-def]
    sig = x(x)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return sig, codegen


@intrinsic
def _cttz(typingctx, x):  # type: ignore[no-untyped-def]
    sig = x(x)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return sig, codegen


@intrinsic
def _prefetch(typingctx, arr, idx):  # type: ignore[no-untyped-def]
    """_prefetch(arr, i): start loading the cache line of arr's flat element i (never faults: a
    prefetch is only a hint). A query's loads are thousands of independent cache misses; issuing
    them a pass ahead keeps many in flight instead of one per branch."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        # read (0), keep in all cache levels (3), data cache (1)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _pdep(typingctx, src, mask):  # type: ignore[no-untyped-def]
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i64 = ir.IntType(64)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i64, [i64, i64]), "llvm.x86.bmi.pdep.64"
        )
        return builder.call(fn, args)

    return sig, codegen


def _fast_pdep() -> bool:
    """Whether select may use BMI2 pdep: one instruction on Intel since Haswell and AMD since
    Zen 3, but microcoded (hundreds of cycles) on Zen 1 and 2, where the popcount search wins.
    Not when numba is told to compile for another CPU (NUMBA_CPU_NAME, portable caches)."""
    import llvmlite.binding as llvm
    from numba.core import config

    if config.CPU_NAME is not None:
        return False
    try:
        return bool(llvm.get_host_cpu_features().get("bmi2")) and llvm.get_host_cpu_name() not in (
            "znver1",
            "znver2",
        )
    except RuntimeError:  # no host information on this platform
        return False


FAST_PDEP = _fast_pdep()

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(inline="always", cache=True)
def chunk_key(c0, c1, c2, c3, off, w):  # type: ignore[no-untyped-def]
    """Bits [off, off + w) of the code as an unsigned integer (w <= 32)."""
    word = off >> 6
    sh = off & 63
    if word == 0:
        lo, hi = c0, c1
    elif word == 1:
        lo, hi = c1, c2
    elif word == 2:
        lo, hi = c2, c3
    else:
        lo, hi = c3, np.uint64(0)
    v = lo >> np.uint64(sh)
    if sh + w > 64:
        v |= hi << np.uint64(64 - sh)
    return v & ((_ONE << np.uint64(w)) - _ONE)


@njit(inline="always", cache=True)
def select_popcount(word, j):  # type: ignore[no-untyped-def]
    """Bit position of the j-th (1-based) set bit of word: a binary search on popcounts."""
    pos = np.int64(0)
    size = np.int64(32)
    while size > 0:
        low = word & ((_ONE << np.uint64(size)) - _ONE)
        c = np.int64(_popcnt(low))
        if c < j:
            j -= c
            word >>= np.uint64(size)
            pos += size
        size >>= 1
    return pos


@njit(inline="always", cache=True)
def select_pdep(word, j):  # type: ignore[no-untyped-def]
    """select_popcount in two instructions and no branch: deposit 1 << (j - 1) into word's set bits."""
    return np.int64(_cttz(_pdep(_ONE << np.uint64(j - 1), word)))


_select_in_word = select_pdep if FAST_PDEP else select_popcount


@njit(inline="always", cache=True)
def _bucket_from(bm, bm_base, pos, j):  # type: ignore[no-untyped-def]
    """From bit `pos`, skip j zeros; returns (bit position of the bucket's first entry, count)."""
    while j > 0:
        b = pos & 63
        word = (~bm[bm_base + (pos >> 6)]) >> np.uint64(b)
        z = np.int64(_popcnt(word))
        if z < j:
            j -= z
            pos += 64 - b
        else:
            pos += _select_in_word(word, j) + 1
            j = 0
    first = pos
    cnt = np.int64(0)
    while True:
        b = pos & 63
        inv = ~(bm[bm_base + (pos >> 6)] >> np.uint64(b))
        run = np.int64(_cttz(inv))  # 64 when inv is 0 (cttz is not zero-poison here)
        avail = 64 - b
        if run >= avail:
            cnt += avail
            pos += avail
        else:
            cnt += run
            break
    return first, cnt


@njit(inline="always", cache=True)
def bucket_range(bm, bm_base, samples, s_base, shift, x):  # type: ignore[no-untyped-def]
    """(start, count) of bucket x in a unary-coded bucket bitmap.

    The bitmap holds, for every bucket in key order, one 1 per entry followed by a 0. samples[k]
    is the bit position where bucket k << shift starts, so a lookup skips at most 2**shift - 1
    zeros from a sample: a word or two of popcounts. Bucket x's entries start at its bit
    position minus x (the zeros of the buckets before it).
    """
    x = np.int64(x)
    k = x >> shift
    first, cnt = _bucket_from(bm, bm_base, np.int64(samples[s_base + k]), x - (k << shift))
    return first - x, cnt


@njit(parallel=True, cache=True, nogil=True)
def search_segment(queries, thr, seg, out_rows, out_d, out_n):  # type: ignore[no-untyped-def]
    """Multi-index hashing search of one frozen segment, blocks of queries in parallel.

    `seg` is the segment's arrays (`Segment.arrays`): hi, lo, tomb, n, offs, widths, radii, masks,
    mask_off, bm, bm_off, samples, s_off, shift, ids, idb. Table 0's rows are the codes themselves
    (stored in table-0 key order, without the table-0 bits, which the bucket implies: `hi` holds
    words 1-3, `lo` the rest of word 0); tables 1.. hold row ids. A row met in table t is reported
    only if no earlier table would have found it, so each match is reported once without a set.
    The work is done in passes (sample loads, bitmap scans, id reads, code checks), each
    prefetching what the next pass reads, so that thousands of cache misses overlap instead of
    stalling one at a time.
    """
    nq = queries.shape[0]
    nblocks = min(nq, 64)
    for blk in prange(nblocks):
        first, last = blk * nq // nblocks, (blk + 1) * nq // nblocks
        _search_range(queries, first, last, thr, seg, out_rows, out_d, out_n)


@njit(cache=True, nogil=True)
def search_segment_serial(queries, thr, seg, out_rows, out_d, out_n):  # type: ignore[no-untyped-def]
    """search_segment on the calling thread: for a query or two, waking a thread pool costs more."""
    _search_range(queries, 0, queries.shape[0], thr, seg, out_rows, out_d, out_n)


@njit(cache=True, nogil=True)
def _search_range(queries, first, last, thr, seg, out_rows, out_d, out_n):  # type: ignore[no-untyped-def]
    """Queries first..last-1, with scratch arrays allocated once: a fresh allocation per query
    costs more in page faults than the search itself."""
    offs, mask_off = seg[4], seg[8]
    m = offs.shape[0]
    nprobe = mask_off[m]
    xs = np.empty(nprobe, dtype=np.int64)
    pos = np.empty(nprobe, dtype=np.int64)
    cnts = np.empty(nprobe, dtype=np.int64)
    tab = np.empty(nprobe, dtype=np.int64)
    qkeys = np.empty(m, dtype=np.uint64)
    cand = np.empty(4096, dtype=np.int64)
    ctab = np.empty(4096, dtype=np.int64)
    for qi in range(first, last):
        cand, ctab = _search_one(
            queries, qi, thr, seg, out_rows, out_d, out_n, xs, pos, cnts, tab, qkeys, cand, ctab
        )


@njit(cache=True)
def _search_one(  # type: ignore[no-untyped-def]
    queries, qi, thr, seg, out_rows, out_d, out_n, xs, pos, cnts, tab, qkeys, cand, ctab
):
    """One query; returns the candidate buffers, grown if it needed more room."""
    hi, lo, tomb, n, offs, widths, radii, masks, mask_off, bm, bm_off, samples, s_off, shift, ids, idb = seg
    m = offs.shape[0]
    cap = out_rows.shape[1]
    nprobe = mask_off[m]
    n0 = mask_off[1]  # table 0's probes come first
    lowmask = (np.int64(1) << shift) - 1
    q0, q1, q2, q3 = queries[qi, 0], queries[qi, 1], queries[qi, 2], queries[qi, 3]
    for t in range(m):
        qkeys[t] = chunk_key(q0, q1, q2, q3, offs[t], widths[t])
    # Pass 1: each probe's key and the sample its bucket lookup starts from; fetch the bitmap there.
    for t in range(m):
        key = qkeys[t]
        for mi in range(mask_off[t], mask_off[t + 1]):
            x = np.int64(key ^ masks[mi])
            xs[mi] = x
            tab[mi] = t
            p = np.int64(samples[s_off[t] + (x >> shift)])
            pos[mi] = p
            _prefetch(bm, bm_off[t] + (p >> 6))
            _prefetch(bm, bm_off[t] + ((p + 160) >> 6))  # the scan may run into the next line
    # Pass 2: bucket ranges; fetch what they point to (codes in table 0, row ids elsewhere).
    total = 0
    for mi in range(nprobe):
        t = tab[mi]
        x = xs[mi]
        p, c = _bucket_from(bm, bm_off[t], pos[mi], x & lowmask)
        first = p - x  # first entry of the bucket in table order
        pos[mi] = first
        cnts[mi] = c
        total += c
        if c > 0:
            if mi < n0:
                _prefetch(hi, 3 * first)
            else:
                _prefetch(ids, ((t - 1) * n + first) * idb)
    if total > len(cand):
        cand = np.empty(total * 2, dtype=np.int64)
        ctab = np.empty(total * 2, dtype=np.int64)
    # Pass 3: candidate rows; fetch their codes.
    k = 0
    for mi in range(n0):
        for e in range(pos[mi], pos[mi] + cnts[mi]):
            cand[k] = e
            ctab[k] = -1 - xs[mi]  # table 0: the bucket key is the row's table-0 bits
            k += 1
    for mi in range(n0, nprobe):
        t = tab[mi]
        b = ((t - 1) * n + pos[mi]) * idb
        for _ in range(cnts[mi]):
            r = np.int64(ids[b]) | (np.int64(ids[b + 1]) << 8) | (np.int64(ids[b + 2]) << 16)
            if idb == 4:
                r |= np.int64(ids[b + 3]) << 24
            b += idb
            cand[k] = r
            ctab[k] = t
            _prefetch(hi, 3 * r)
            k += 1
    # Pass 4: verify by the exact distance, words 1-3 first (one cache line), then the rest.
    found = 0
    w0 = widths[0]
    q0lo = q0 >> np.uint64(w0)
    ns0 = s_off[1] - s_off[0] if m > 1 else samples.shape[0]
    for k in range(total):
        row = cand[k]
        d = _popcnt(hi[row, 0] ^ q1) + _popcnt(hi[row, 1] ^ q2) + _popcnt(hi[row, 2] ^ q3)
        if d > thr:
            continue
        low = _lo_bits(lo, row)
        d += _popcnt(low ^ q0lo)
        if d > thr:
            continue
        tk = ctab[k]
        if tk < 0:
            key0 = np.uint64(-1 - tk)
            t = 0
        else:
            key0 = np.uint64(key_of_row(bm, samples, ns0, shift, row))
            t = tk
        d += _popcnt(key0 ^ qkeys[0])
        if d > thr:
            continue
        if (tomb[row >> 6] >> np.uint64(row & 63)) & _ONE:
            continue
        c0 = (low << np.uint64(w0)) | key0
        dup = False
        for t2 in range(t):  # reported by the first table that finds it, so only once
            k2 = chunk_key(c0, hi[row, 0], hi[row, 1], hi[row, 2], offs[t2], widths[t2])
            if _popcnt(k2 ^ qkeys[t2]) <= radii[t2]:
                dup = True
                break
        if dup:
            continue
        if found < cap:
            out_rows[qi, found] = row
            out_d[qi, found] = d
        found += 1
    out_n[qi] = found
    return cand, ctab


@njit(parallel=True, cache=True, nogil=True)
def search_brute(queries, thr, codes, n, out_rows, out_d, out_n):  # type: ignore[no-untyped-def]
    """Exact scan of the first n codes (the small buffer of recent adds)."""
    cap = out_rows.shape[1]
    for qi in prange(queries.shape[0]):
        q0, q1, q2, q3 = queries[qi, 0], queries[qi, 1], queries[qi, 2], queries[qi, 3]
        found = 0
        for row in range(n):
            d = (
                _popcnt(codes[row, 0] ^ q0)
                + _popcnt(codes[row, 1] ^ q1)
                + _popcnt(codes[row, 2] ^ q2)
                + _popcnt(codes[row, 3] ^ q3)
            )
            if d <= thr:
                if found < cap:
                    out_rows[qi, found] = row
                    out_d[qi, found] = d
                found += 1
        out_n[qi] = found


@njit(cache=True)
def find_exact(code, hi, lo, bm, samples, shift, w0):  # type: ignore[no-untyped-def]
    """Rows holding exactly `code`, found through table 0 (rows are in table-0 key order)."""
    key = chunk_key(code[0], code[1], code[2], code[3], 0, w0)
    start, cnt = bucket_range(bm, 0, samples, 0, shift, key)
    out = np.empty(cnt, dtype=np.int64)
    k = 0
    low = code[0] >> np.uint64(w0)
    for row in range(start, start + cnt):
        if (
            hi[row, 0] == code[1]
            and hi[row, 1] == code[2]
            and hi[row, 2] == code[3]
            and _lo_bits(lo, row) == low
        ):
            out[k] = row
            k += 1
    return out[:k]


@njit(inline="always", cache=True)
def _lo_bits(lo, row):  # type: ignore[no-untyped-def]
    """Word 0 of a stored code without its table-0 bits (kept in lo.shape[1] bytes)."""
    v = np.uint64(0)
    for b in range(lo.shape[1]):
        v |= np.uint64(lo[row, b]) << np.uint64(8 * b)
    return v


@njit(cache=True)
def key_of_row(bm, samples, ns0, shift, row):  # type: ignore[no-untyped-def]
    """The table-0 key (bucket) of a row: the zeros before the row's 1 in table 0's bitmap.

    Only asked for rows that already passed the check on the other bits, so rarely.
    """
    lo_k = 0
    hi_k = ns0 - 1
    while lo_k < hi_k:  # the last sample block starting at or before the row
        mid = (lo_k + hi_k + 1) >> 1
        if np.int64(samples[mid]) - (np.int64(mid) << shift) <= row:
            lo_k = mid
        else:
            hi_k = mid - 1
    pos = np.int64(samples[lo_k])
    need = row - (pos - (np.int64(lo_k) << shift))  # entries to pass before ours
    while True:
        b = pos & 63
        word = bm[pos >> 6] >> np.uint64(b)
        c = np.int64(_popcnt(word))
        if c <= need:
            need -= c
            pos += 64 - b
        else:
            p = pos + _select_in_word(word, need + 1)
            return p - row


@njit(cache=True)
def chunk_keys(codes, off, w):  # type: ignore[no-untyped-def]
    out = np.empty(codes.shape[0], dtype=np.uint32)
    for i in range(codes.shape[0]):
        out[i] = np.uint32(chunk_key(codes[i, 0], codes[i, 1], codes[i, 2], codes[i, 3], off, w))
    return out
