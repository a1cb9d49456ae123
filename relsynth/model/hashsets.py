"""Sets of 64-bit hashes as large as the source, in memory that is not.

The guards (relsynth.model.guards) hold a hash of every value or record of the source that a
synthetic one must not equal: 8 bytes a row, and 16 while records are counted to find those held
by one row. TPC-H at scale factor 10 has 60 million such records in one table, which is gigabytes
in memory. So a set collects its hashes in memory only up to ``SPILL_HASHES``, and beyond that on
disk, in a private temporary directory, split by the hashes' top bits so that one part at a time
is sorted. A set that ends up larger than ``MEMORY_HASHES`` stays on disk, sorted, read through a
memory map, and is consulted there only for the probes that a Bloom filter in memory (2 bytes a
hash) cannot rule out: membership stays exact (no false alarm moves a synthetic value, so the same
seed gives the same output), and memory holds the filter, not the set.

The files hold keyed hashes whose key exists only in the process's memory; they are deleted when
the set is, or when the process ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from relsynth.errors import RelsynthError
from relsynth.model.values import distinct

SPILL_HASHES = 4_000_000  # collected in memory up to this many (64 MB as (key, payload) pairs)
MEMORY_HASHES = 4_000_000  # a final set up to this many stays in memory (32 MB)
PARTS = 64  # files a spilled collection is split into, by the hashes' top 6 bits
BLOOM_BITS = 16  # bits of filter per hash: about one probe in 200 looked up on disk
_K = 8  # bits set per hash, within one 64-bit word
_READ = 1 << 20  # hashes read from disk at a time
Digest = Callable[[np.ndarray], np.ndarray]


class HashSet:
    """An exact set of uint64 hashes: a sorted array, in memory or memory-mapped from disk."""

    def __init__(self, hashes: np.ndarray, *, bloom: BlockedBloom | None = None, home: _Home | None = None):
        self.hashes = hashes  # sorted, distinct
        self.bloom = bloom
        self._home = home  # keeps the directory of a memory-mapped set alive

    @classmethod
    def of(cls, hashes: np.ndarray) -> HashSet:
        return cls(distinct(np.asarray(hashes, dtype=np.uint64)))

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to another process (a Dask worker, relsynth/cluster.py) in memory: its file and
        directory stay with this process, which removes them."""
        return (_in_memory, (np.array(self.hashes), self.bloom))

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def on_disk(self) -> bool:
        return self.bloom is not None

    def contains(self, probes: np.ndarray) -> np.ndarray:
        probes = np.asarray(probes, dtype=np.uint64)
        out = np.zeros(len(probes), dtype=bool)
        if not len(self.hashes) or not len(probes):
            return out
        bloom = self.bloom
        rows = np.arange(len(probes)) if bloom is None else np.flatnonzero(bloom.may_contain(probes))
        if not len(rows):
            return out
        # Probed in sorted order: a random probe into millions of hashes misses the cache at every
        # step of the binary search, sorted probes walk the array once (10x on TPC-H SF 1).
        order = rows[np.argsort(probes[rows])]
        sorted_probes = probes[order]
        idx = np.minimum(np.searchsorted(self.hashes, sorted_probes), len(self.hashes) - 1)
        out[order] = np.asarray(self.hashes[idx]) == sorted_probes
        return out


def _in_memory(hashes: np.ndarray, bloom: BlockedBloom | None) -> HashSet:
    return HashSet(hashes, bloom=bloom)


class BlockedBloom:
    """A Bloom filter whose hash sets its bits in one 64-bit word: one memory access a probe."""

    def __init__(self, n: int, bits: int = BLOOM_BITS) -> None:
        self.words = np.zeros(max(1, -(-n * bits // 64)), dtype=np.uint64)

    def _where(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        words = np.uint64(len(self.words))
        first = _mix(h)  # hashes of a sorted part share their top bits: mixed again, twice
        block = ((first >> np.uint64(32)) * words) >> np.uint64(32)
        mixed = _mix(first ^ np.uint64(0x9E3779B97F4A7C15))
        mask = np.zeros(len(h), dtype=np.uint64)
        for j in range(_K):
            mask |= np.uint64(1) << ((mixed >> np.uint64(6 * j)) & np.uint64(63))
        return block.astype(np.int64), mask

    def add(self, h: np.ndarray) -> None:
        block, mask = self._where(h)
        np.bitwise_or.at(self.words, block, mask)

    def may_contain(self, h: np.ndarray) -> np.ndarray:
        block, mask = self._where(h)
        return (self.words[block] & mask) == mask


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every output bit depends on every input bit."""
    x = h ^ (h >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _once(keys: np.ndarray, payload: np.ndarray) -> np.ndarray:
    """The payloads of the keys that occur exactly once."""
    if not len(keys):
        return payload[:0]
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    first = np.concatenate([[True], k[1:] != k[:-1]])
    last = np.concatenate([k[1:] != k[:-1], [True]])
    return payload[order[first & last]]


class _Home:
    """A private temporary directory, removed with the last object that holds it (or at exit)."""

    def __init__(self) -> None:
        try:
            self.path = Path(tempfile.mkdtemp(prefix="relsynth-guard-"))  # mode 0700
        except OSError as err:
            raise _no_room(tempfile.gettempdir(), err) from None
        self._done = weakref.finalize(self, _remove, self.path, os.getpid())


def _no_room(where: str | Path, err: OSError | None) -> RelsynthError:
    why = f" ({err.strerror})" if err is not None and err.strerror else ""
    return RelsynthError(
        f"could not keep the guards' hashes of a large table in {where}{why}: set TMPDIR to a "
        "directory with room (16 bytes a row of the largest table, for each guarded column)"
    )


def _remove(path: Path, owner: int) -> None:
    if os.getpid() == owner:  # not from a forked child (--workers 2) while its parent reads on
        shutil.rmtree(path, ignore_errors=True)


class HashCollector:
    """Hashes (and, for records, a payload hash per key) collected a chunk at a time, spilled to
    disk past SPILL_HASHES; ``distinct()`` or ``once()`` makes the final HashSet."""

    def __init__(self, *, paired: bool = False) -> None:
        self.paired = paired
        self._parts: list[np.ndarray] = []
        self._held = 0
        self._home: _Home | None = None
        self._files: list[Path] = []
        self._written = [0] * PARTS  # hashes in each file: a short write (a full disk) is caught

    def add(self, keys: np.ndarray, payload: np.ndarray | None = None) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        part = np.stack([keys, np.asarray(payload, dtype=np.uint64)], axis=1) if self.paired else keys
        if self._home is not None:
            self._spill(part)
            return
        self._parts.append(part)
        self._held += len(part)
        if self._held > SPILL_HASHES:
            self._spill_to(_Home(), "in")
            parts, self._parts, self._held = self._parts, [], 0
            for p in parts:
                self._spill(p)

    def _spill_to(self, home: _Home, prefix: str) -> None:
        """From now on, hashes go to PARTS files named ``prefix`` in ``home``."""
        self._home = home
        self._files = [home.path / f"{prefix}{i:02d}" for i in range(PARTS)]

    def _spill(self, part: np.ndarray) -> None:
        top = (part[:, 0] if self.paired else part) >> np.uint64(64 - 6)
        order = np.argsort(top, kind="stable")
        bounds = np.searchsorted(top[order], np.arange(PARTS + 1))
        for i in range(PARTS):
            if bounds[i] < bounds[i + 1]:
                try:
                    with open(self._files[i], "ab") as f:
                        part[order[bounds[i] : bounds[i + 1]]].tofile(f)
                except OSError as err:
                    raise _no_room(self._files[i].parent, err) from None
                self._written[i] += int(bounds[i + 1] - bounds[i])

    def _pieces(self) -> Iterator[np.ndarray]:
        """The collection a part at a time: in memory, one piece; spilled, one file at a time."""
        if self._home is None:
            if self._parts:
                yield np.concatenate(self._parts)
            return
        width = 2 if self.paired else 1
        for path, written in zip(self._files, self._written, strict=True):
            if path.exists():
                data = np.fromfile(path, dtype=np.uint64)
                path.unlink()
                if len(data) != written * width:  # the disk took less than it was given
                    raise _no_room(path.parent, None)
                yield data.reshape(-1, 2) if self.paired else data

    def distinct(self) -> HashSet:
        """The set of the keys."""
        return self._finish(lambda piece: piece)

    def once(self, digest: Digest | None = None) -> HashSet:
        """The set of the payloads of keys that occur once (of ``digest(payloads)``, when given)."""
        assert self.paired

        def pick(piece: np.ndarray) -> np.ndarray:
            chosen = _once(piece[:, 0], piece[:, 1])
            return chosen if digest is None else digest(chosen)

        return self._finish(pick)

    def _finish(self, pick: Digest) -> HashSet:
        home = self._home
        if home is None:
            pieces = list(self._pieces())
            self._parts = []
            return HashSet.of(pick(pieces[0]) if pieces else np.empty(0, dtype=np.uint64))
        # Spilled: the chosen hashes, split again by their own top bits, are sorted one part at a
        # time and written one after another: the whole file is sorted.
        out = HashCollector()
        out._spill_to(home, "out")
        for piece in self._pieces():
            out._spill(np.asarray(pick(piece), dtype=np.uint64))
        final = home.path / "set"
        n = 0
        try:
            with open(final, "wb") as f:
                for piece in out._pieces():
                    d = distinct(piece)
                    d.tofile(f)
                    n += len(d)
        except OSError as err:
            raise _no_room(home.path, err) from None
        if final.stat().st_size != 8 * n:
            raise _no_room(home.path, None)
        self._home = None
        if n <= MEMORY_HASHES:
            hashes = np.fromfile(final, dtype=np.uint64)
            final.unlink()
            return HashSet(hashes)
        hashes = np.memmap(final, dtype=np.uint64, mode="r", shape=(n,))
        bloom = BlockedBloom(n)
        for start in range(0, n, _READ):
            bloom.add(np.asarray(hashes[start : start + _READ]))
        return HashSet(hashes, bloom=bloom, home=home)
