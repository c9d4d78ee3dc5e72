"""Password hashing."""

from __future__ import annotations

import pytest

from webbly.passwords import hash_password, needs_rehash, verify_password


def test_round_trip() -> None:
    encoded = hash_password("correct horse", iterations=1000)
    assert verify_password("correct horse", encoded)
    assert not verify_password("wrong horse", encoded)


def test_format_names_algorithm_and_iterations() -> None:
    algorithm, iterations, salt, digest = hash_password("pw-12345", iterations=1234).split("$")
    assert algorithm == "pbkdf2_sha256"
    assert iterations == "1234"
    assert salt
    assert digest


def test_salts_differ_between_hashes() -> None:
    assert hash_password("same", iterations=10) != hash_password("same", iterations=10)


def test_fixed_salt_is_deterministic() -> None:
    salt = b"0123456789abcdef"
    first = hash_password("same", iterations=10, salt=salt)
    assert first == hash_password("same", iterations=10, salt=salt)


@pytest.mark.parametrize(
    "encoded",
    ["", "plain", "md5$1$abc$def", "pbkdf2_sha256$x$abc$def", "pbkdf2_sha256$0$abc$def",
     "pbkdf2_sha256$10$!!!$def", "a$b$c"],
)
def test_malformed_hashes_never_verify(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


def test_unicode_passwords() -> None:
    encoded = hash_password("pässwörd-ß", iterations=50)
    assert verify_password("pässwörd-ß", encoded)
    assert not verify_password("passwort-ss", encoded)


def test_needs_rehash_when_iterations_change() -> None:
    encoded = hash_password("pw", iterations=100)
    assert not needs_rehash(encoded, iterations=100)
    assert needs_rehash(encoded, iterations=200)
    assert needs_rehash("md5$whatever", iterations=100)


@pytest.mark.parametrize(("password", "iterations"), [("", 10), ("pw", 0)])
def test_rejects_empty_password_and_zero_iterations(password: str, iterations: int) -> None:
    with pytest.raises(ValueError, match="must"):
        hash_password(password, iterations=iterations)
