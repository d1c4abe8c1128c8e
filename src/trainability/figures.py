"""What the studies not yet in the study shape import for their figures; each moves to
``plotting``, ``order`` and ``tables`` as it adopts the shape, and then this module goes.
(The grid's figures are in ``studies/grid/figures.py``.)"""

from trainability.order import activation_order, init_order
from trainability.plotting import ACC_LABEL, TEST_ACC_LABEL, save_figure
from trainability.plotting import ensure_span as _ensure_span
from trainability.plotting import figure as _figure
from trainability.plotting import style as _style
from trainability.tables import read_table

__all__ = ["ACC_LABEL", "TEST_ACC_LABEL", "_ensure_span", "_figure", "_style",
           "activation_order", "init_order", "read_table", "save_figure"]
