"""Safe file writing (``check --fix``, ``--plot``): :func:`write_atomic`
writes a temporary file next to the target and renames it over it, after
:func:`check_target`: a symbolic link is written through; a directory,
FIFO, device, socket, link loop or read-only file is refused
(:class:`UnsafeTarget`, before anything is written); a replaced file keeps
its mode (and, where allowed, owner and group).
"""
from __future__ import absolute_import, division, print_function

import binascii
import errno
import os
import stat

__all__ = ['UnsafeTarget', 'check_target', 'write_atomic']

_REFUSED = ((stat.S_ISDIR, 'a directory'),
            (stat.S_ISFIFO, 'a FIFO (named pipe)'),
            (stat.S_ISCHR, 'a character device'),
            (stat.S_ISBLK, 'a block device'),
            (stat.S_ISSOCK, 'a socket'))
#: ``os.replace`` (Python 3) or ``os.rename`` (Python 2, POSIX: replaces).
_replace = getattr(os, 'replace', os.rename)


class UnsafeTarget(ValueError):
    """``path`` cannot be replaced safely; nothing was written. ``path``,
    ``target`` (its real path) and ``reason`` are attributes."""

    def __init__(self, path, target, reason):
        shown = path if target == os.path.abspath(path) else '%s (%s %s)' % (
            path, 'a symbolic link to' if os.path.islink(path) else 'that is',
            target)
        ValueError.__init__(self, 'refusing to write %s: %s; nothing was '
                            'written' % (shown, reason))
        self.path, self.target, self.reason = path, target, reason


def check_target(path):
    """``(target, st)``: the real path that writing ``path`` replaces and
    its ``os.stat`` (None when it does not exist yet); :class:`UnsafeTarget`
    when it may not be replaced."""
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


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically (see the module
    docstring); returns the real path written. On any error the temporary
    file is removed and the target is untouched."""
    target, st = check_target(path)
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, '.%s.%s.tmp' % (
        name, binascii.hexlify(os.urandom(6)).decode('ascii')))
    # A new file: 0o666 and the umask; an old one: private until its mode
    # is restored.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                 getattr(os, 'O_BINARY', 0), 0o666 if st is None else 0o600)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if st is not None:
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except (AttributeError, OSError):  # only root gives files away
                pass
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        _replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise
    return target
