"""Keep freed memory in the process instead of handing it back to the system at once.

A large evaluation allocates and frees arrays of n values many times over (10 million cases:
80 MB per float64 array). glibc serves each such block with its own ``mmap`` and returns it
with ``munmap`` when numpy frees it, so the next array of that size starts on fresh pages, and
the first touch of a page is what costs: on a virtual machine with expensive page faults, about
0.15 s per 80 MB (docs/benchmarks.md, "Whole-process scoring"), more than the arithmetic on
it. With ``mmap`` off for the heap's blocks and a high trim threshold, freed blocks stay mapped
and are reused; the peak resident memory stays what the largest moment needs.

Only the command line (``python -m scoring``, one evaluation, then exit) does this: a
long-lived worker keeps glibc's defaults, which return memory between tasks.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Tune glibc's allocator as described above; False where there is no glibc (macOS,
    musl) and nothing changed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = [
        mallopt(_M_MMAP_MAX, 0),  # every block from the heap, where freed space is reused
        mallopt(_M_TRIM_THRESHOLD, 2**31 - 1),  # do not hand the heap's top back early
        mallopt(_M_TOP_PAD, 256 * 2**20),  # grow it by 256 MB at a time
    ]
    return all(done)
