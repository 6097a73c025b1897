"""Child-process hygiene: nothing we start may outlive us."""

from __future__ import annotations

import shutil

import structlog

log = structlog.get_logger(__name__)


def dying_with_parent(command: list[str]) -> list[str]:
    """``command`` wrapped so the kernel sends it SIGTERM when our process dies
    (``PR_SET_PDEATHSIG``, set by util-linux ``setpriv`` just before it execs the
    command): a killed launcher or test run leaves no broker or service behind.

    Not a ``preexec_fn``: Python code between fork and exec makes CPython fork instead
    of vfork, and gRPC 1.80 and later (we run 1.85) crash such a child when the parent
    holds gRPC channels (grpc/grpc#43055: "Epoll1Poller encountered epoll_wait error:
    Bad file descriptor", SIGABRT before the exec; seen here in test runs). Without
    ``setpriv`` (not Linux), the command runs unwrapped."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        log.warning("setpriv not found: children may outlive a killed parent")
        return command
    return [setpriv, "--pdeathsig", "TERM", "--", *command]
