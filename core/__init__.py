"""MaskLens core library: data, models, training, explainers, metrics, visuals.

Nothing in this package imports streamlit; everything a page shows is reachable
from here in plain Python.
"""

__version__ = "0.1.0"
