"""``uc``: run the system and talk to it from a terminal.

- ``session``: the connection every command uses (the services, the caller's token, the
  jurisdiction's time zone) and how a refusal ends a command;
- ``intake``: calls, duplicates, recommendations, dispatching, the incidents board;
- ``command``: unified command (raise, request, command, control, withdraw, close,
  cancel, classify), table-driven;
- ``record``: the incident record (log, state at an instant, replay, report, notes,
  history);
- ``teams``: the unit board and a team's side (alerts, acknowledge, decline, status);
- ``operate``: running the system and playing generated calls against it.
"""

from services.cli.main import main

__all__ = ["main"]
