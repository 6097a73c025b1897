"""Console passwords: argon2id hashes (argon2-cffi), kept in the jurisdiction file as PHC
strings (``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``).

Checking a password costs the same whether or not the user exists: an unknown user is
checked against a dummy hash made with the same parameters, so the answer's timing does
not tell which user names exist.
"""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type, hash_secret

# argon2-cffi's defaults (RFC 9106's "low memory" choice): 64 MiB, 3 passes, 4 lanes.
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("no such user: this hash only makes a miss cost what a check does")


def hash_password(password: str) -> str:
    """A new argon2id hash of ``password`` with a random salt (PHC string)."""
    return _HASHER.hash(password)


def demo_hash(operator_id: str, password: str) -> str:
    """A reproducible argon2id hash for the demo jurisdiction: the salt is derived from
    the operator id, so regenerating the demo file gives the same text. Demo use only: a
    real jurisdiction's hashes come from ``hash_password`` (random salts)."""
    salt = hashlib.sha256(f"uc-demo-password-salt:{operator_id}".encode()).digest()[:16]
    return hash_secret(
        password.encode(),
        salt,
        time_cost=_HASHER.time_cost,
        memory_cost=_HASHER.memory_cost,
        parallelism=_HASHER.parallelism,
        hash_len=_HASHER.hash_len,
        type=Type.ID,
    ).decode()


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such user or no password; the
    check is made anyway against a dummy hash, and fails)."""
    try:
        matched = _HASHER.verify(stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and stored is not None
