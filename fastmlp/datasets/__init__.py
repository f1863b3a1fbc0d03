"""Data sets and data-file readers: the bundled 8x8 digits, IDX / MNIST,
the raw diabetes files, and CSV/TSV/.npy/.npz tables for the command line.

Pure Python and NumPy. Nothing here downloads: MNIST, Fashion-MNIST and
diabetes are read from folders you provide; only the digits ship inside.
"""
from ._base import Bunch, DatasetError
from ._bundled import load_diabetes, load_digits
from ._idx import load_idx, load_mnist
from ._table import load_table

__all__ = [
    "Bunch",
    "DatasetError",
    "load_diabetes",
    "load_digits",
    "load_idx",
    "load_mnist",
    "load_table",
]
