"""Size and SHA-256 of a file or a directory tree, with progress; shared by server and CLI.

A file's digest is the SHA-256 of its bytes (what ``sha256sum`` prints). A directory's digest is
the SHA-256 of its manifest: one line ``<relative path>\\0<file sha256>\\n`` per regular file,
sorted by path, so renaming, adding, removing or changing any file changes it. Symbolic links
and special files are refused: content must not point outside its owner's storage.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

CHUNK = 1024 * 1024
Progress = Callable[[int, int], None]  # (bytes hashed so far, total bytes)


class UnsafeTree(ValueError):
    """The path holds a symbolic link or something other than files and directories."""


def list_files(root: Path) -> list[tuple[str, Path, int]]:
    """(relative path, path, size) of every regular file under ``root`` (or ``root`` itself)."""
    info = os.lstat(root)
    if stat.S_ISREG(info.st_mode):
        return [("", root, info.st_size)]
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeTree(f"{root} is neither a regular file nor a directory")
    out: list[tuple[str, Path, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise UnsafeTree(f"{path} is a symbolic link or a special file")
            if stat.S_ISREG(mode):
                out.append((path.relative_to(root).as_posix(), path, os.lstat(path).st_size))
    return sorted(out)


def _file_digest(path: Path, done: list[int], total: int, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done[0] += len(chunk)
            if progress is not None:
                progress(done[0], total)
    return digest.hexdigest()


def tree_digest(root: Path, progress: Progress | None = None) -> tuple[int, str]:
    """(size in bytes, hex SHA-256) of ``root``; ``progress`` is called as bytes are read."""
    files = list_files(root)
    total = sum(size for _, _, size in files)
    done = [0]
    if len(files) == 1 and files[0][0] == "":
        return total, _file_digest(root, done, total, progress)
    manifest = hashlib.sha256()
    for rel, path, _ in files:
        manifest.update(f"{rel}\0{_file_digest(path, done, total, progress)}\n".encode())
    if progress is not None:
        progress(total, total)
    return total, manifest.hexdigest()
