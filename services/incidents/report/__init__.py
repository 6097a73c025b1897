"""After-action reports: figures (``figures``), the standards they are checked against
(``standards``, from configuration), the timeline chart (``chart``) and the HTML page
(``page``)."""

from services.incidents.report.chart import Chart, timeline_chart
from services.incidents.report.figures import Report, build_report, report_from_view
from services.incidents.report.page import render_html
from services.incidents.report.standards import (
    ResponseStandards,
    StandardCheck,
    default_standards,
    load_standards,
)

__all__ = [
    "Chart",
    "Report",
    "ResponseStandards",
    "StandardCheck",
    "build_report",
    "default_standards",
    "load_standards",
    "render_html",
    "report_from_view",
    "timeline_chart",
]
