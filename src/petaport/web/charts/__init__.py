"""Charts for portal pages: matplotlib figures as SVG ``data:`` URIs, one module per subject
(``revenue``, ``spend``, ``grants``); ``figures`` holds what they share.

An SVG image (``<img src="data:image/svg+xml;base64,…">``) needs no extra request and is
allowed by the portal's Content-Security-Policy (``img-src 'self' data:``), which would block
the inline styles of an ``<svg>`` element pasted into the page. Figures are built with the
object API (no pyplot state), so rendering is safe in concurrent requests; the SVG has no
timestamp, so the same figures give the same bytes. Amounts become floats here, for drawing
only: every figure a user reads as a number comes from the Decimal tables beside the chart.
"""

from petaport.web.charts.grants import drawdown_svg
from petaport.web.charts.revenue import revenue_svg
from petaport.web.charts.spend import budgets_svg, daily_spend_svg

__all__ = ["budgets_svg", "daily_spend_svg", "drawdown_svg", "revenue_svg"]
