"""Reader for the IDX format of the MNIST files, so users who have them on disk can use them."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from eqlearn.errors import UserInputError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed if the name ends in .gz)."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise UserInputError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserInputError(f"{path}: header promises shape {shape} but the file holds {len(raw) - header} data bytes")
    return np.frombuffer(raw[header:], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(directory: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train': (images, labels), 'test': (images, labels)} from the four MNIST IDX files in `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserInputError(f"MNIST folder {directory} does not exist")
    return {split: (read_idx(_find(directory, images)), read_idx(_find(directory, labels)))
            for split, (images, labels) in MNIST_FILES.items()}


def _find(directory: Path, stem: str) -> Path:
    """Accept the usual spellings: plain or .gz, and `-idx3-ubyte` or `.idx3-ubyte`."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise UserInputError(f"{directory} has no {stem}[.gz]; expected the four MNIST IDX files")
