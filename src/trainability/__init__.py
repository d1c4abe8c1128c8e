"""trainability: a reproducible study of why training neural networks is subtle.

The NumPy trainer (``model``, ``optim``, ``train``) trains K small classifiers at once;
``data`` makes the datasets; ``cli`` is what the Snakemake workflow calls.
"""

__version__ = "0.1.0"
