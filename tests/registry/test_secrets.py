"""Case secrets a person can read off a screen and type on a phone, and old secrets still open."""

from __future__ import annotations

import re
import secrets

import httpx

from takeitdown.registry import keys
from tests.registry.helpers import bearer, image_item

AMBIGUOUS = set("0O1Il")


def test_new_secrets_use_an_unambiguous_alphabet_and_carry_128_bits() -> None:
    made = {keys.new_secret() for _ in range(200)}
    assert len(made) == 200
    for secret in made:
        assert re.fullmatch(r"([2-9A-HJ-NP-Z]{4}-){6}[2-9A-HJ-NP-Z]{4}", secret), secret
        assert not AMBIGUOUS & set(secret)
    assert keys.SECRET_CHARS * 5 >= 128  # 32 letters: 5 bits each


def test_secret_typed_loosely_still_matches_and_a_wrong_one_does_not() -> None:
    secret = keys.new_secret()
    salt, digest = keys.hash_secret(secret)
    loose = secret.replace("-", " ").lower()
    assert keys.check_secret(secret, salt, digest)
    assert keys.check_secret(loose, salt, digest)
    assert keys.check_secret(secret.replace("-", ""), salt, digest)
    wrong = ("3" if secret[0] != "3" else "4") + secret[1:]
    assert not keys.check_secret(wrong, salt, digest)
    assert not keys.check_secret(loose, None, None)


def test_old_urlsafe_secrets_stay_valid_exactly_as_made() -> None:
    old = secrets.token_urlsafe(24)  # what cases were given before
    salt, digest = keys.hash_secret(old)
    assert keys.check_secret(old, salt, digest)
    assert not keys.check_secret(old.swapcase(), salt, digest) or old == old.swapcase()
    assert keys.normalize_secret(old) is None


def test_a_case_opens_with_the_secret_typed_in_lower_case_with_spaces(client: httpx.Client) -> None:
    body = client.post("/v1/cases", json={"items": [image_item()]}).json()
    secret = body["case_secret"]
    assert not AMBIGUOUS & set(secret)
    typed = secret.replace("-", " ").lower()
    r = client.get(f"/v1/cases/{body['case_id']}", headers=bearer(typed))
    assert r.status_code == 200, r.text
    wrong = secret[:-1] + ("Z" if secret[-1] != "Z" else "Y")
    assert client.get(f"/v1/cases/{body['case_id']}", headers=bearer(wrong)).status_code == 404
