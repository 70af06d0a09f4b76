"""The hash value types parse, print and compare themselves in the wire format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from takeitdown.hashing import InvalidHash, Md5Hash, PdqHash, Sha256Hash, VpdqFrame, VpdqHash, parse_hash

hex_digits = "0123456789abcdef"
pdq_values = st.text(alphabet=hex_digits, min_size=64, max_size=64)
md5_values = st.text(alphabet=hex_digits, min_size=32, max_size=32)
qualities = st.integers(min_value=0, max_value=100)
frames = st.builds(
    lambda i, t, q, h: {"i": i, "t": t, "q": q, "pdq": h},
    st.integers(0, 10**6),
    st.floats(0, 36_000, allow_nan=False).map(lambda t: round(t, 3)),
    qualities,
    pdq_values,
)


@given(pdq_values, qualities)
def test_pdq_survives_print_and_parse(value: str, quality: int) -> None:
    h = PdqHash.parse(value, quality)
    assert str(h) == value
    assert parse_hash(h.to_json()) == h
    assert PdqHash.parse(value.upper(), quality) == h


@given(md5_values)
def test_md5_survives_print_and_parse(value: str) -> None:
    h = Md5Hash.parse(value)
    assert str(h) == value and parse_hash(h.to_json()) == h


@given(st.text(alphabet=hex_digits, min_size=64, max_size=64))
def test_sha256_survives_print_and_parse(value: str) -> None:
    assert parse_hash(Sha256Hash.parse(value).to_json()) == Sha256Hash(value)


@given(st.lists(frames, min_size=1, max_size=20))
def test_vpdq_survives_print_and_parse(raw: list[dict]) -> None:
    h = VpdqHash.parse(raw)
    assert parse_hash(h.to_json()) == h
    assert [f.to_json() for f in h.frames] == raw


@given(st.text().filter(lambda s: len(s) != 64 or any(c not in hex_digits + hex_digits.upper() for c in s)))
def test_bad_pdq_strings_are_refused(value: str) -> None:
    with pytest.raises(InvalidHash):
        PdqHash.parse(value)


@given(st.text().filter(lambda s: len(s) != 32 or any(c not in hex_digits + hex_digits.upper() for c in s)))
def test_bad_md5_strings_are_refused(value: str) -> None:
    with pytest.raises(InvalidHash):
        Md5Hash.parse(value)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"type": "sha1", "value": "00"},
        {"type": "pdq"},
        {"type": "pdq", "value": "0" * 64, "quality": 101},
        {"type": "pdq", "value": "0" * 64, "quality": -1},
        {"type": "pdq", "value": "0" * 64, "quality": True},
        {"type": "pdq", "value": "0" * 64, "quality": "50"},
        {"type": "pdq", "value": "0" * 64, "extra": 1},
        {"type": "md5", "value": 123},
        {"type": "md5", "value": "g" * 32},
        {"type": "vpdq", "frames": []},
        {"type": "vpdq", "frames": "abc"},
        {"type": "vpdq", "frames": [{"i": 0, "t": 0, "q": 100}]},
        {"type": "vpdq", "frames": [{"i": 0, "t": -1, "q": 100, "pdq": "0" * 64}]},
        {"type": "vpdq", "frames": [{"i": 0, "t": float("nan"), "q": 100, "pdq": "0" * 64}]},
        {"type": "vpdq", "frames": [{"i": -1, "t": 0, "q": 100, "pdq": "0" * 64}]},
        {"type": "vpdq", "frames": [{"i": 0, "t": 0, "q": 100, "pdq": "0" * 64, "x": 1}]},
    ],
)
def test_bad_wire_objects_are_refused_with_a_message(data: object) -> None:
    with pytest.raises(InvalidHash) as refused:
        parse_hash(data)
    assert str(refused.value)


def test_distance_and_distribution() -> None:
    zero = PdqHash("0" * 64, 90)
    assert zero.distance(PdqHash("f" + "0" * 63)) == 4
    assert zero.distance(PdqHash("f" * 64)) == 256
    assert zero.is_distributable() and not PdqHash("0" * 64, 49).is_distributable()
    assert VpdqFrame.parse({"i": 1, "t": 1, "q": 7, "pdq": "a" * 64}).hash == PdqHash("a" * 64, 7)
