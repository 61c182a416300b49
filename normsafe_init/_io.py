"""Safe file writing: :func:`write_atomic`.

A file is replaced by writing a temporary file next to it and renaming it
over the old one, so a reader sees either the old or the new content, never
a half-written file. Renaming replaces whatever stands at the name, so the
target is checked first:

- a symbolic link is followed: its target is written (atomically, in the
  target's directory) and the link stays a link. A dangling link creates
  its target, as ``open(path, 'w')`` and the shell's ``>`` would;
- a directory, FIFO, character or block device (``/dev/null``) or socket
  is refused: renaming would replace it by a regular file;
- a read-only file (no write permission bit at all, or one this user may
  not write) is refused;
- a replaced file keeps its permission bits (and, where allowed, its owner
  and group); a new file gets the usual ``0o666 & ~umask``.

A refusal raises :class:`UnsafeTarget` before anything is written.
"""
from __future__ import absolute_import, division, print_function

import binascii
import errno
import os
import stat

__all__ = ['UnsafeTarget', 'check_target', 'write_atomic']

#: Kinds of file that are never replaced.
_REFUSED = ((stat.S_ISDIR, 'a directory'),
            (stat.S_ISFIFO, 'a FIFO (named pipe)'),
            (stat.S_ISCHR, 'a character device'),
            (stat.S_ISBLK, 'a block device'),
            (stat.S_ISSOCK, 'a socket'))


class UnsafeTarget(ValueError):
    """``path`` cannot be replaced safely (a directory, FIFO, device,
    socket, symbolic link loop or read-only file); nothing was written.
    ``path`` and ``reason`` are attributes; the message names both."""

    def __init__(self, path, target, reason):
        shown = path if target == os.path.abspath(path) else '%s (%s %s)' % (
            path, 'a symbolic link to' if os.path.islink(path) else 'that is',
            target)
        ValueError.__init__(self, 'refusing to write %s: %s; nothing was '
                            'written' % (shown, reason))
        self.path = path
        self.target = target
        self.reason = reason


def check_target(path):
    """``(target, st)``: the real path that writing ``path`` replaces (its
    symbolic links resolved) and its ``os.stat`` result (None when it does
    not exist yet). Raises :class:`UnsafeTarget` when it may not be
    replaced.

    >>> try:
    ...     check_target(os.devnull)
    ... except UnsafeTarget as exc:
    ...     print(exc.reason)
    it is a character device, not a regular file
    """
    target = os.path.realpath(path)
    try:
        st = os.stat(target)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return target, None
        if exc.errno == errno.ELOOP:
            raise UnsafeTarget(path, target, 'it is a symbolic link loop')
        raise
    for test, kind in _REFUSED:
        if test(st.st_mode):
            raise UnsafeTarget(path, target, 'it is %s, not a regular file'
                               % kind)
    mode = stat.S_IMODE(st.st_mode)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeTarget(path, target, 'it is read-only (mode %04o)'
                           % mode)
    if not os.access(target, os.W_OK):
        raise UnsafeTarget(path, target, 'this user may not write it (mode '
                           '%04o)' % mode)
    return target, st


def _replace(src, dst):
    """``os.replace`` (Python 3) or ``os.rename`` (Python 2)."""
    replace = getattr(os, 'replace', None)
    if replace is not None:
        replace(src, dst)
        return
    try:
        os.rename(src, dst)
    except OSError:  # Windows, Python 2: the target exists
        os.remove(dst)
        os.rename(src, dst)


def _create_temp(target, mode):
    """``(fd, name)`` of a new file next to ``target`` opened for writing,
    created with ``mode`` (the umask applies)."""
    directory, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0)
    for _ in range(100):
        tmp = os.path.join(directory, '.%s.%s.tmp' % (
            name, str(binascii.hexlify(os.urandom(6)).decode('ascii'))))
        try:
            return os.open(tmp, flags, mode), tmp
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    raise OSError(errno.EEXIST, 'no free temporary file name', directory)


def _sync_directory(directory):
    """Make a rename in ``directory`` durable, where the system allows."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically; returns the real path
    written (``path`` with its symbolic links resolved).

    The data go to a temporary file in the target's directory, flushed and
    synced, then renamed over the target (see the module docstring for what
    is refused, followed and kept). On any error the temporary file is
    removed and the target is untouched.

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'out.yaml')
    >>> write_atomic(path, b'a: 1\\n') == os.path.realpath(path)
    True
    >>> open(path).read()
    'a: 1\\n'
    """
    target, st = check_target(path)
    # A new file: 0o666, the umask applies; an old one: private until its
    # mode is restored.
    fd, tmp = _create_temp(target, 0o666 if st is None else 0o600)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if st is not None:
            if hasattr(os, 'chown'):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except OSError:   # only root may give a file away
                    pass
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        _replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise
    _sync_directory(os.path.dirname(target))
    return target
