#!/usr/bin/python3
# A one-file FUSE filesystem that misbehaves like a bad drive, for fault-injection tests.
# A loop device on MOUNT/disk is the faulty drive. Mount with direct_io so FUSE's own cache
# can't hide the errors. Behaviours (combinable):
#   --eio-write A:B   writes touching bytes [A, B) fail with EIO
#   --eio-read A:B    reads touching bytes [A, B) fail with EIO
#   --wrap N          stores only N bytes: offset X lands at X mod N (a counterfeit card)
#   --yank-after N    once N bytes were written in total, every read and write fails (unplugged)
#   --stall-after N --stall-until FILE
#                     once N bytes were written, writes hang (a card that stops answering) until
#                     FILE exists, then go on normally; never longer than 120 s
#   --stall-read A:B  reads touching bytes [A, B) hang the same way until the --stall-until FILE
#                     exists (a card that stops answering while its data is read back)
# Data lives in a sparse backing file (--backing), so the test can inspect what was "stored".
# Run with /usr/bin/python3 (Debian's python3-fusepy); prints "ready" once mounted.

import argparse
import errno
import os
import stat
import sys
import threading
import time

try:
    import fusepy as fuse_module
except ImportError:  # older Debian packaging names the module "fuse"
    import fuse as fuse_module

FUSE = fuse_module.FUSE
FuseOSError = fuse_module.FuseOSError
Operations = fuse_module.Operations

NAME = '/disk'


def byte_range(text):
    start, end = text.split(':')
    return int(start), int(end)


class FaultyDisk(Operations):
    def __init__(self, args):
        self.size = args.size
        self.eio_write = args.eio_write or []
        self.eio_read = args.eio_read or []
        self.wrap = args.wrap
        self.yank_after = args.yank_after
        self.stall_after = args.stall_after
        self.stall_until = args.stall_until
        self.stall_read = args.stall_read or []
        self.written = 0
        self.lock = threading.Lock()
        self.fd = os.open(args.backing, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(self.fd, args.wrap or args.size)
        self.now = time.time()

    def _yanked(self):
        return self.yank_after is not None and self.written >= self.yank_after

    @staticmethod
    def _hits(ranges, offset, length):
        return any(offset < end and start < offset + length for start, end in ranges)

    def _pieces(self, offset, length):
        """(backing offset, length) pieces of a request, split where --wrap folds it."""
        if not self.wrap:
            return [(offset, length)]
        pieces = []
        while length > 0:
            at = offset % self.wrap
            n = min(length, self.wrap - at)
            pieces.append((at, n))
            offset += n
            length -= n
        return pieces

    def getattr(self, path, fh=None):
        if path == '/':
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_size=0,
                        st_ctime=self.now, st_mtime=self.now, st_atime=self.now)
        if path == NAME:
            return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=self.size,
                        st_ctime=self.now, st_mtime=self.now, st_atime=self.now)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return ['.', '..', NAME[1:]]

    def open(self, path, flags):
        if path != NAME:
            raise FuseOSError(errno.ENOENT)
        return 0

    def truncate(self, path, length, fh=None):
        raise FuseOSError(errno.EPERM)

    def read(self, path, length, offset, fh):
        if self._hits(self.stall_read, offset, length):
            self._wait_for_release()
        with self.lock:
            if self._yanked():
                raise FuseOSError(errno.ENODEV)
            length = max(0, min(length, self.size - offset))
            if self._hits(self.eio_read, offset, length):
                raise FuseOSError(errno.EIO)
            out = bytearray()
            for at, n in self._pieces(offset, length):
                chunk = os.pread(self.fd, n, at)
                out += chunk + bytes(n - len(chunk))
            return bytes(out)

    def _stall(self):
        # Outside the lock: reads (and the test's own probes) still answer while writes hang.
        if self.stall_after is None or self.written < self.stall_after:
            return
        self._wait_for_release()

    def _wait_for_release(self):
        deadline = time.monotonic() + 120
        while not os.path.exists(self.stall_until) and time.monotonic() < deadline:
            time.sleep(0.05)

    def write(self, path, data, offset, fh):
        self._stall()
        with self.lock:
            if self._yanked():
                raise FuseOSError(errno.ENODEV)
            if offset + len(data) > self.size:
                raise FuseOSError(errno.ENOSPC)
            if self._hits(self.eio_write, offset, len(data)):
                raise FuseOSError(errno.EIO)
            done = 0
            for at, n in self._pieces(offset, len(data)):
                os.pwrite(self.fd, data[done:done + n], at)
                done += n
            self.written += len(data)
            return len(data)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        if self._yanked():
            raise FuseOSError(errno.ENODEV)
        return 0

    def release(self, path, fh):
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('mountpoint')
    parser.add_argument('--size', type=int, required=True)
    parser.add_argument('--backing', required=True)
    parser.add_argument('--eio-write', type=byte_range, action='append')
    parser.add_argument('--eio-read', type=byte_range, action='append')
    parser.add_argument('--wrap', type=int)
    parser.add_argument('--yank-after', type=int)
    parser.add_argument('--stall-after', type=int)
    parser.add_argument('--stall-until')
    parser.add_argument('--stall-read', type=byte_range, action='append')
    args = parser.parse_args()
    ops = FaultyDisk(args)

    def announce():
        # FUSE() blocks while mounted; report readiness from the side once the file is visible.
        for _ in range(200):
            if os.path.exists(os.path.join(args.mountpoint, NAME[1:])):
                print('ready', flush=True)
                return
            time.sleep(0.05)
        print('mount did not appear', file=sys.stderr, flush=True)

    threading.Thread(target=announce, daemon=True).start()
    FUSE(ops, args.mountpoint, foreground=True, nothreads=True, direct_io=True, max_write=1048576)


if __name__ == '__main__':
    main()
