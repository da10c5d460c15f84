"""Offline data sets for training and evaluation: IDX files, Fashion-MNIST, image folders.

Nothing here downloads anything. Data sets are found under the folders listed by
:func:`alveoflow.data.paths.data_roots` (``ALVEOFLOW_DATA``, then ``/usr/share/datasets``);
a missing or corrupt file raises :class:`alveoflow.errors.DataError` that says how to fix it.
"""

from alveoflow.data.datasets import (
    ArrayDataset,
    ImageFolderDataset,
    fashion_mnist_datasets,
    image_folder_datasets,
    stack_batch,
)
from alveoflow.data.fashion_mnist import CLASSES as FASHION_MNIST_CLASSES
from alveoflow.data.fashion_mnist import find_fashion_mnist, load_fashion_mnist
from alveoflow.data.idx import read_idx, write_idx
from alveoflow.data.paths import DATA_ENV_VAR, data_roots

__all__ = [
    "DATA_ENV_VAR",
    "FASHION_MNIST_CLASSES",
    "ArrayDataset",
    "ImageFolderDataset",
    "data_roots",
    "fashion_mnist_datasets",
    "find_fashion_mnist",
    "image_folder_datasets",
    "load_fashion_mnist",
    "read_idx",
    "stack_batch",
    "write_idx",
]
