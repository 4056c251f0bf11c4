"""Files written whole or not at all: a run killed mid-write never leaves a half-written result,
data set or checkpoint behind. Every floor writes through these."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from eqlearn.errors import UserInputError


def check_output_path(path) -> Path:
    """`path` as a Path, or a UserInputError before any work if its directory does not exist."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UserInputError(f"cannot write {path}: directory {directory} does not exist")
    return path


@contextmanager
def atomic_output(path):
    """Yield a temporary file in `path`'s directory; it replaces `path` only if the block succeeds,
    so an interrupted write never leaves a half-written file behind."""
    path = check_output_path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would have made it, not mkstemp's 0600
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text_atomically(path, text: str) -> None:
    """`path.write_text(text)` through `atomic_output`: results files are never half written."""
    with atomic_output(path) as handle:
        handle.write(text.encode())
