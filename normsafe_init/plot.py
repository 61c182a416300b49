"""Histograms of the initial vector norms (``check --plot``). matplotlib
(optional) is imported only to draw, through its object-oriented API and the
Agg canvas, so the process-wide pyplot backend is left alone.
"""
from __future__ import absolute_import, division, print_function

import io
import math

import numpy as np

from ._io import write_atomic

__all__ = ['require_matplotlib', 'Panel', 'plot_panels']

INSTALL_HINT = "pip install matplotlib (or pip install 'normsafe_init[plot]')"


def require_matplotlib():
    """``(Figure, FigureCanvasAgg)``; raises ImportError with an install
    hint when matplotlib is not importable."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except Exception as exc:  # ImportError, or a broken installation
        raise ImportError('matplotlib is not importable (%s: %s): %s'
                          % (type(exc).__name__,
                             str(exc).strip().splitlines()[0]
                             if str(exc).strip() else '', INSTALL_HINT))
    return Figure, FigureCanvasAgg


class Panel(object):
    """One histogram: ``title``, ``norms`` (1-D array), ``target`` (t),
    ``limit``, ``breaks`` and an ``expected_max`` marker (if finite)."""

    def __init__(self, title, norms, target, limit, breaks=False,
                 expected_max=None, subtitle=None):
        self.title = title
        self.norms = np.asarray(norms, dtype=np.float64).ravel()
        self.target = float(target)
        self.limit = float(limit)
        self.breaks = bool(breaks)
        self.expected_max = (float(expected_max) if expected_max is not None
                             and np.isfinite(expected_max) else None)
        self.subtitle = subtitle


def _draw(ax, panel):
    norms = panel.norms
    top = 1.08 * max(panel.limit, float(norms.max()) if norms.size else 0.0,
                     panel.expected_max or 0.0)
    # Bins over the data only: initial norms are tightly concentrated, so
    # bins over [0, top] would draw one bar.
    bins = int(min(40, max(8, math.ceil(math.sqrt(max(norms.size, 1))) * 2)))
    if norms.size:
        ax.hist(norms, bins=bins, color='#4c72b0', edgecolor='white',
                linewidth=0.3)
    for x, color, style, width, label in (
            (panel.target, '#dd8452', '--', 1.5, 't = %.4g'),
            (panel.limit, '#c44e52', '-', 1.5, 'limit %.5g'),
            (panel.expected_max, '#55a868', ':', 1.2, 'expected max %.4g')):
        if x is not None:
            ax.axvline(x, color=color, linestyle=style, linewidth=width,
                       label=label % x)
    ax.set_xlim(0.0, top)
    ax.set_xlabel('L2 norm')
    ax.set_ylabel('vectors')
    ax.set_title(panel.title, fontsize=9,
                 color='#c44e52' if panel.breaks else 'black')
    if panel.subtitle:
        ax.text(0.02, 0.97, panel.subtitle, transform=ax.transAxes,
                fontsize=7, va='top', ha='left')
    ax.legend(fontsize=7, loc='best')


def plot_panels(panels, path, suptitle=None):
    """Draw one histogram per :class:`Panel` and write a PNG to ``path``
    atomically (a temporary file in the same directory, then a rename)."""
    Figure, FigureCanvasAgg = require_matplotlib()
    count = max(len(panels), 1)
    ncols = min(3, count)
    nrows = int(math.ceil(count / float(ncols)))
    fig = Figure(figsize=(4.6 * ncols, 3.4 * nrows + (0.4 if suptitle else 0)))
    FigureCanvasAgg(fig)
    if not panels:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, 'no constrained layer', ha='center', va='center')
        ax.set_axis_off()
    for k, panel in enumerate(panels):
        _draw(fig.add_subplot(nrows, ncols, k + 1), panel)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    try:
        fig.tight_layout(rect=(0, 0, 1, 0.95) if suptitle else (0, 0, 1, 1))
    except Exception:  # layout is cosmetic; never fail the plot for it
        pass
    stream = io.BytesIO()
    fig.savefig(stream, format='png', dpi=100)
    write_atomic(path, stream.getvalue())
    return path
