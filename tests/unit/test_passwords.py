"""Console passwords: argon2id hashes, reproducible for the demo city only, and checks
that fail the same way for a wrong password and for no user at all."""

from __future__ import annotations

import pytest

from services.common.jurisdiction import JurisdictionError, parse_jurisdiction, token_hash
from services.edge.passwords import demo_hash, hash_password, verify_password


def test_a_hash_is_argon2id_and_checks_only_its_password() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horse ")
    assert hash_password("correct horse") != stored  # a random salt each time


def test_demo_hashes_are_reproducible_and_salted_per_operator() -> None:
    assert demo_hash("ct-01", "demo-ct-01") == demo_hash("ct-01", "demo-ct-01")
    assert demo_hash("ct-01", "same") != demo_hash("ct-02", "same")
    assert verify_password(demo_hash("ct-01", "demo-ct-01"), "demo-ct-01")


@pytest.mark.parametrize("stored", [None, "", "$argon2id$garbage", "plain text"])
def test_no_user_or_a_broken_hash_never_matches(stored: str | None) -> None:
    assert verify_password(stored, "") is False
    assert verify_password(stored, "anything") is False


def _with_operator(extra: str, role: str = "CALL_TAKER") -> str:
    return f"""
jurisdiction:
  name: T
  time_zone: Asia/Shanghai
  bounds: {{south: 28.0, west: 112.0, north: 29.0, east: 113.0}}
operators:
  - {{id: op-1, name: Op, role: {role}, token_sha256: {token_hash("x")}{extra}}}
stations:
  - {{id: S1, name: S, tier: PROFESSIONAL, location: [28.5, 112.5],
      units: [{{id: S1-E1, name: E, capabilities: [engine]}}]}}
"""


def test_the_jurisdiction_file_takes_an_argon2id_hash_for_staff_only() -> None:
    stored = demo_hash("op-1", "pw")
    city = parse_jurisdiction(_with_operator(f", password_argon2: '{stored}'"), "t.yaml")
    assert city.operators[0].password_argon2 == stored
    with pytest.raises(JurisdictionError, match="password_argon2"):
        parse_jurisdiction(_with_operator(", password_argon2: 'plaintext'"), "t.yaml")
    with pytest.raises(JurisdictionError, match="only staff"):
        parse_jurisdiction(
            _with_operator(f", password_argon2: '{stored}'", role="SERVICE"), "t.yaml"
        )
