"""What every command handler shares: request ids and their fingerprints."""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message

from services.common.errors import InvalidArgument


def fingerprint(request: Message) -> str:
    """Identifies a command's content, so a reused request id with other content is caught."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def require_request_id(request_id: str) -> str:
    request_id = request_id.strip()
    if not request_id:
        raise InvalidArgument(
            "request_id is required: give each command a unique id (a UUID), and reuse it "
            "only to retry that same command"
        )
    if len(request_id) > 200:
        raise InvalidArgument("request_id is longer than 200 characters")
    return request_id
