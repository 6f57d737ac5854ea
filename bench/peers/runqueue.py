"""Run-queue wait of the calling thread, shared by the Python contenders."""

import os


class RunQueueClock:
    """The calling thread's run-queue wait in seconds (runnable, waiting for a
    CPU): field 2 of /proc/thread-self/schedstat, one pread on a kept-open fd.
    Open it on the thread it measures."""

    def __init__(self):
        try:
            self.fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self.fd = None

    def wait_s(self):
        if self.fd is None:
            return 0.0
        return int(os.pread(self.fd, 128, 0).split()[1]) / 1e9
