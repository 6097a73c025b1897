"""Analytics on a real city's data: building a jurisdiction from public station data
(``stations``, ``roster``), historical calls (``history``, read by ``cad``), response
performance over a period (``period``, drawn by ``period_page``), travel-time
calibration (``calibration``), the recommendation measured against what really happened
(``agreement``) and 5-minute coverage (``coverage``).

The computations are pure (no I/O); the readers (``cad``, ``stations``) and writers
(``period_page``) are apart from them. Units: seconds, metres or kilometres as named,
WGS-84 degrees, instants as integer microseconds since the epoch (UTC).
"""
