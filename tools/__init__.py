"""What runs around the product, never inside it: the embedded broker and the whole
system as processes on one machine (``broker``, ``stack``), the demo city's generator
(``demo_city``), the call generator and the scenario player (``callgen``,
``scenario``). No service imports this package (a test holds it)."""
