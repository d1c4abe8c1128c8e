"""Atomic file writing and reading with errors that name the file.

Every output is written to a temporary name in the same folder and renamed into place, so
an interrupted job never leaves a truncated file under the final name.
"""

from __future__ import annotations

import glob
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


class InputError(Exception):
    """An expected failure (bad argument, missing or corrupt file): reported in one line."""


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # from a killed run
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_npz(path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file; a missing, corrupt or incomplete file is an InputError."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not a readable .npz file ({e})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise InputError(f"{path}: missing arrays {missing}")
    return arrays


RUN_KEYS = ("seeds", "status", "diverged_epoch", "float64_diverged", "theta0", "theta", "meta")


def save_run(path, result, meta: dict, **extra: np.ndarray) -> None:
    """One trained batch of models: every history array, the parameters, the settings and
    ``extra`` arrays (per-model initializers, checkpoints)."""
    save_npz(
        path,
        seeds=np.asarray(result.seeds),
        status=np.asarray(result.status),
        diverged_epoch=result.diverged_epoch,
        float64_diverged=result.float64_diverged,
        theta0=result.theta0,
        theta=result.theta,
        meta=np.asarray(json.dumps(meta, sort_keys=True)),
        **{f"history_{k}": v for k, v in result.history.items()},
        **extra,
    )


def load_run(path) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(meta, history, arrays)`` of a file written by ``save_run``."""
    arrays = load_npz(path, RUN_KEYS)
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: corrupt metadata ({e})") from None
    names = [k for k in arrays if k.startswith("history_")]
    history = {k.removeprefix("history_"): arrays.pop(k) for k in names}
    return meta, history, arrays


def npz_rows(path, names: tuple[str, ...]) -> tuple[int, ...]:
    """The first dimension of arrays ``names`` of an ``.npz`` file, read from their headers
    only (what a message about a too-large dataset can afford)."""
    try:
        with zipfile.ZipFile(path) as archive:
            rows = []
            for name in names:
                with archive.open(f"{name}.npy") as f:
                    major, _ = np.lib.format.read_magic(f)
                    read = (np.lib.format.read_array_header_1_0 if major == 1
                            else np.lib.format.read_array_header_2_0)
                    shape, _, _ = read(f)
                    rows.append(shape[0] if shape else 1)
            return tuple(rows)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not a readable .npz file ({e})") from None


def npz_intact(path) -> bool:
    """Whether an .npz archive is complete and undamaged: its index reads, every member's
    local header agrees with the index, and every member's CRC-32 matches its bytes (so
    this reads the whole file: about 1 s per GB).

    Catches what an interrupted copy, a full disk or a flipped bit leaves behind, except in
    the fields no reader uses (timestamps, version numbers, file attributes)."""
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
            members = archive.infolist()
            return (bool(members) and all(_local_header_agrees(raw, m) for m in members)
                    and archive.testzip() is None)
    except (OSError, EOFError, ValueError, NotImplementedError, struct.error,
            zipfile.BadZipFile, zlib.error):  # NotImplementedError: a damaged version field
        return False


def _local_header_agrees(raw, member: zipfile.ZipInfo) -> bool:
    """``testzip`` reads a member's data as the index describes it and never looks at the
    local header's method, sizes or CRC, which are part of the file all the same."""
    raw.seek(member.header_offset)
    (signature, _version, flags, method, _time, _date, crc, compressed, size, name_length,
     extra_length) = struct.unpack("<4s5H3L2H", raw.read(30))
    name, extra = raw.read(name_length), raw.read(extra_length)
    if (compressed, size) == (ZIP64, ZIP64):  # np.savez writes ZIP64 headers: sizes in extra
        size, compressed = _zip64_sizes(extra)
    if flags & 0x08:  # sizes and CRC follow the data instead (np.savez never does this)
        crc, compressed, size = member.CRC, member.compress_size, member.file_size
    return (signature == b"PK\x03\x04" and flags == member.flag_bits
            and method == member.compress_type
            and (crc, compressed, size) == (member.CRC, member.compress_size, member.file_size)
            and name == member.orig_filename.encode())


ZIP64 = 0xFFFFFFFF


def _zip64_sizes(extra: bytes) -> tuple[int, int]:
    """The (uncompressed, compressed) sizes of a local header's ZIP64 extra field."""
    while len(extra) >= 4:
        tag, length = struct.unpack("<2H", extra[:4])
        if tag == 0x0001:
            return struct.unpack("<2Q", extra[4:20])
        extra = extra[4 + length:]
    return ZIP64, ZIP64
