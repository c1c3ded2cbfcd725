"""Charts of the Monitoringbericht as PNG, drawn with matplotlib's Agg backend.

Agg draws into memory without a display (servers have none) and without pyplot: pyplot keeps
global state, and the api renders in several threads at once, so each chart is its own `Figure`
on its own canvas. Suppressed cells (domain/monitoring.py) get no bar, only their "< 5" label, so
the picture reveals no more than the table.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from services.documents.domain.monitoring import ChartSpec

BAR = "#2F5597"
TEXT = "#262626"
DPI = 200


def draw(spec: ChartSpec, width_inches: float = 6.3, height_inches: float = 3.2) -> bytes:
    """A horizontal bar chart (German labels are long) at the placeholder's size."""
    figure = Figure(figsize=(width_inches, height_inches), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [cell.label for cell in spec.cells][::-1]
    values = [cell.value or 0 for cell in spec.cells][::-1]
    shown = [cell.shown for cell in spec.cells][::-1]
    axes.barh(labels, values, color=BAR, height=0.6)
    largest = max(values, default=0) or 1
    for position, (value, text) in enumerate(zip(values, shown, strict=True)):
        axes.text(value + largest * 0.01, position, text, va="center", fontsize=8, color=TEXT)
    axes.set_xlim(0, largest * 1.15)
    axes.set_title(spec.title, fontsize=10, color=TEXT, loc="left")
    axes.set_xlabel(spec.axis_label, fontsize=8, color=TEXT)
    axes.tick_params(labelsize=8, colors=TEXT)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No software/date metadata: the same figures give the same bytes, hence the same SHA-256.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
