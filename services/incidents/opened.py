"""Whether dispatch has opened an incident the incident log has not seen yet.

The log is a read model: an incident reaches it a few milliseconds after dispatch
stores it. A command or a read that names an incident dispatch has opened must never be
refused as unknown because of that lag (issue 9, read-your-writes), so when the log
does not know an incident, the incidents service asks dispatch, with the caller's own
credentials (a commander may read any incident).
"""

from __future__ import annotations

import grpc

from emergency.v1 import dispatch_pb2, dispatch_pb2_grpc
from services.common.auth import current_authorization, forwarded_metadata
from services.common.errors import NotFound
from services.common.grpc_client import as_domain_error, open_channel


class DispatchIncidents:
    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self.channel = open_channel(address)
        self.stub = dispatch_pb2_grpc.DispatchServiceStub(self.channel)
        self.timeout = timeout

    def opened(self, incident_id: str) -> bool:
        """True when dispatch has the incident, False when it has not; ``Unavailable``
        when dispatch cannot be asked (the caller should retry)."""
        try:
            self.stub.GetIncident(
                dispatch_pb2.GetIncidentRequest(incident_id=incident_id),
                timeout=self.timeout,
                metadata=forwarded_metadata(current_authorization()),
            )
        except grpc.RpcError as exc:
            error = as_domain_error(exc, "dispatch")
            if isinstance(error, NotFound):
                return False
            raise error from None
        return True

    def close(self) -> None:
        self.channel.close()
