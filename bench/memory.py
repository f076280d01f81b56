"""Peak memory of this process, read so that a child started from a large parent is measured on its own.

``ru_maxrss`` survives fork and exec on Linux (a child inherits its parent's peak); ``VmHWM`` belongs to the
process's own address space, new at exec.
"""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
