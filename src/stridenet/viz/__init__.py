"""Pictures of a model and its results (matplotlib, the optional ``plot`` extra).

Every function returns a ``matplotlib.figure.Figure`` drawn on its own Agg canvas
(no pyplot, the global backend is left alone) and, given ``path``, writes it as a
PNG atomically. matplotlib is imported only when a figure is made; without it the
call raises ImportError saying ``pip install "stridenet[plot]"``.
"""

from .confusion import plot_confusion_matrix
from .filters import capture_activations, plot_feature_maps, plot_filters
from .history import plot_history
from .images import plot_predictions

__all__ = ["capture_activations", "plot_confusion_matrix", "plot_feature_maps", "plot_filters",
           "plot_history", "plot_predictions"]
