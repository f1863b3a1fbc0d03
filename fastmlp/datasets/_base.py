"""Shared plumbing for the data loaders: the error type, opening files, and
reading bytes through a gzip layer that never inflates more than asked for.

It does not interpret any file format; _idx.py and _table.py do that.
"""
import errno
import os
import zlib

GZIP_MAGIC = b"\x1f\x8b"

# Deflate cannot expand data more than 1032:1 (a 258-byte match coded in two
# bits), so a gzip file of n bytes inflates to at most 1032 * n bytes. This
# lets a loader reject an absurd header before inflating or allocating.
MAX_DEFLATE_RATIO = 1032

_CHUNK = 1 << 20

# Magic bytes of formats people hand to a loader by mistake, for the hint in
# the error message.
_OTHER_FORMATS = (
    (b"BZh", "a bzip2 file; decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "an xz file; decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "a zstd file; decompress it first (unzstd)"),
    (b"PK\x03\x04", "a zip archive; extract it first"),
    (b"\x93NUMPY", "a NumPy .npy file; read it with numpy.load"),
)


class DatasetError(ValueError):
    """A data file is malformed; the message names the file and the problem."""


class Bunch(dict):
    """A dict whose keys are also attributes, as scikit-learn's loaders return."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __dir__(self):
        return list(self.keys())


def guess_format(head):
    """A hint naming a known non-target format from the first bytes, or ''."""
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            return what
    return ""


def fspath_arg(path, argname):
    """os.fspath(path) as a str, or a TypeError naming the argument."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise TypeError(f"{argname} must be a str or os.PathLike naming a file, "
                        f"got {type(path).__name__}") from None
    return os.fsdecode(p)


def open_binary(path, argname="path"):
    """Open a regular file for reading bytes; return (display name, file).

    A missing file raises FileNotFoundError and a directory IsADirectoryError
    (also on Windows, where open() would say PermissionError).
    """
    name = fspath_arg(path, argname)
    if os.path.isdir(name):
        raise IsADirectoryError(errno.EISDIR, f"{argname} is a directory, not a file", name)
    return name, open(name, "rb")


def file_size(f):
    return os.fstat(f.fileno()).st_size


class RawReader:
    """Reads an uncompressed file with the same interface as GzipReader."""

    compressed = False

    def __init__(self, f, name):
        self._f = f
        self.name = name

    def readinto(self, view):
        view = memoryview(view).cast("B")
        n = 0
        while n < len(view):
            got = self._f.readinto(view[n:])
            if not got:
                break
            n += got
        return n

    def read(self, size):
        return self._f.read(size)

    def read_all(self):
        return self._f.read()


class GzipReader:
    """Inflates a gzip file (one or more members) on demand.

    Unlike gzip.GzipFile, reading n bytes never allocates more than what the
    stream really holds, and every problem (bad header, bad deflate data, CRC
    or length mismatch, truncation, garbage after the stream) is a
    DatasetError naming the file.
    """

    compressed = True

    def __init__(self, f, name):
        self._f = f
        self.name = name
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""      # compressed bytes not yet given to the inflater
        self._finished = False   # every member inflated and its CRC checked

    def _fail(self, problem):
        raise DatasetError(f"{self.name}: corrupt gzip stream: {problem}") from None

    def _next_member(self):
        """Called at the end of a member: start the next one, or finish."""
        rest = self._pending
        while len(rest) < 2:
            more = self._f.read(_CHUNK)
            if not more:
                break
            rest += more
        if not rest:
            self._finished = True
            return
        if rest[:2] != GZIP_MAGIC:
            self._fail(f"unexpected bytes {rest[:4].hex(' ')} after the end of the "
                       "compressed data (a gzip member must follow, or nothing)")
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = rest

    def readinto(self, view):
        """Fill view with inflated bytes; return how many (fewer only at the end)."""
        view = memoryview(view).cast("B")
        n = 0
        size = len(view)
        while n < size and not self._finished:
            if self._inflater.eof:
                self._next_member()
                continue
            if not self._pending:
                self._pending = self._f.read(_CHUNK)
                if not self._pending:
                    self._fail("truncated (the file ends inside the compressed data)")
            before = len(self._pending)
            try:
                out = self._inflater.decompress(self._pending, size - n)
            except zlib.error as e:
                self._fail(str(e))
            if self._inflater.eof:
                self._pending = self._inflater.unused_data
            else:
                self._pending = self._inflater.unconsumed_tail
                if not out and len(self._pending) == before:
                    # zlib neither consumed input nor produced output: it
                    # cannot make progress, so stop instead of spinning.
                    self._fail("the inflater is stuck")
            view[n:n + len(out)] = out
            n += len(out)
        return n

    def read(self, size):
        buf = bytearray(size)
        n = self.readinto(buf)
        del buf[n:]
        return bytes(buf)

    def read_all(self):
        parts = []
        while True:
            part = self.read(_CHUNK)
            if not part:
                return b"".join(parts)
            parts.append(part)


def reader_for(f, name):
    """A RawReader or GzipReader for f, chosen by the magic bytes, not the name."""
    head = f.read(2)
    f.seek(0)
    if head == GZIP_MAGIC:
        return GzipReader(f, name)
    return RawReader(f, name)


def read_file_bytes(path, argname="path"):
    """All bytes of a file, inflated when it is gzip-compressed."""
    name, f = open_binary(path, argname)
    with f:
        return name, reader_for(f, name).read_all()
