"""Tests of normsafe_init._io.write_atomic: what it replaces, follows,
refuses and keeps (modes, owners, symbolic links), on real files, links,
FIFOs, sockets and device nodes."""
from __future__ import absolute_import, division, print_function

import os
import shutil
import socket
import stat
import tempfile

import pytest

from normsafe_init import _io
from normsafe_init._io import UnsafeTarget, write_atomic

needs_symlinks = pytest.mark.skipif(not hasattr(os, 'symlink'),
                                    reason='no symbolic links here')
posix_only = pytest.mark.skipif(os.name != 'posix', reason='POSIX only')


def read(path):
    with open(path, 'rb') as stream:
        return stream.read()


def write(path, data, mode=None):
    with open(path, 'wb') as stream:
        stream.write(data)
    if mode is not None:
        os.chmod(path, mode)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(directory):
    return sorted(os.listdir(str(directory)))


class Umask(object):
    """``with Umask(0o027):`` sets the process umask, then restores it."""

    def __init__(self, mask):
        self.mask = mask

    def __enter__(self):
        self.old = os.umask(self.mask)

    def __exit__(self, *exc):
        os.umask(self.old)


# -- regular files ------------------------------------------------------------

@posix_only
@pytest.mark.parametrize('mask', [0o022, 0o027, 0o077, 0o002], ids=oct)
def test_new_file_gets_the_umask_default_mode(tmp_path, mask):
    path = str(tmp_path / 'new.yaml')
    with Umask(mask):
        assert write_atomic(path, b'a: 1\n') == os.path.realpath(path)
    assert read(path) == b'a: 1\n'
    assert mode_of(path) == 0o666 & ~mask      # not mkstemp's 0o600
    assert listing(tmp_path) == ['new.yaml']


@posix_only
@pytest.mark.parametrize('mode', [0o640, 0o600, 0o755, 0o666, 0o200],
                         ids=oct)
def test_replaced_file_keeps_its_mode(tmp_path, mode):
    path = str(tmp_path / 'out.yaml')
    write(path, b'old\n', mode)
    with Umask(0o077):
        write_atomic(path, b'new\n')
    assert read(path) == b'new\n'
    assert mode_of(path) == mode
    assert listing(tmp_path) == ['out.yaml']


@posix_only
@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() != 0,
                    reason='only root may give a file to another user')
def test_replaced_file_keeps_its_owner_and_group(tmp_path):
    path = str(tmp_path / 'out.yaml')
    write(path, b'old\n', 0o644)
    os.chown(path, 4321, 4322)
    write_atomic(path, b'new\n')
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, mode_of(path)) == (4321, 4322, 0o644)


def test_the_file_is_replaced_not_rewritten(tmp_path):
    # A reader holding the old file keeps reading the old content.
    path = str(tmp_path / 'out.yaml')
    write(path, b'old\n')
    with open(path, 'rb') as held:
        write_atomic(path, b'new\n')
        assert held.read() == b'old\n'
    assert read(path) == b'new\n'


def test_missing_directory_is_an_os_error_and_leaves_nothing(tmp_path):
    with pytest.raises((IOError, OSError)):
        write_atomic(str(tmp_path / 'missing' / 'x.yaml'), b'')
    assert listing(tmp_path) == []


def test_failure_removes_the_temporary_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'out.yaml')
    write(path, b'old\n', 0o640)

    def broken_replace(src, dst):
        assert os.path.dirname(src) == os.path.dirname(dst)
        assert read(src) == b'new\n' and mode_of(src) == 0o640
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(_io, '_replace', broken_replace)
    with pytest.raises(OSError):
        write_atomic(path, b'new\n')
    assert read(path) == b'old\n'
    assert listing(tmp_path) == ['out.yaml']


# -- symbolic links ---------------------------------------------------------

@needs_symlinks
def test_symlink_is_followed_and_stays_a_link(tmp_path):
    real_dir = tmp_path / 'experiments'
    real_dir.mkdir()
    target = str(real_dir / 'exp.yaml')
    write(target, b'old\n', 0o640)
    link_dir = tmp_path / 'links'
    link_dir.mkdir()
    link = str(link_dir / 'exp.yaml')
    os.symlink(os.path.join('..', 'experiments', 'exp.yaml'), link)
    assert write_atomic(link, b'new\n') == os.path.realpath(target)
    assert os.path.islink(link)
    assert os.readlink(link) == os.path.join('..', 'experiments', 'exp.yaml')
    assert read(target) == b'new\n' and mode_of(target) == 0o640
    # The temporary file lived in the target's directory; none is left.
    assert listing(real_dir) == ['exp.yaml']
    assert listing(link_dir) == ['exp.yaml']


@needs_symlinks
def test_chain_of_symlinks_reaches_the_file(tmp_path):
    target = str(tmp_path / 'real.yaml')
    write(target, b'old\n')
    os.symlink('real.yaml', str(tmp_path / 'one'))
    os.symlink('one', str(tmp_path / 'two'))
    write_atomic(str(tmp_path / 'two'), b'new\n')
    assert read(target) == b'new\n'
    assert os.path.islink(str(tmp_path / 'one'))
    assert os.path.islink(str(tmp_path / 'two'))


@needs_symlinks
def test_dangling_symlink_creates_its_target(tmp_path):
    # Decided: like open(path, 'w') and the shell's '>', writing through a
    # dangling link creates the file it names; the link stays.
    link = str(tmp_path / 'out.yaml')
    os.symlink('made.yaml', link)
    with Umask(0o022):
        write_atomic(link, b'new\n')
    assert os.path.islink(link)
    assert read(str(tmp_path / 'made.yaml')) == b'new\n'
    assert mode_of(str(tmp_path / 'made.yaml')) == 0o644


@needs_symlinks
def test_dangling_symlink_into_a_missing_directory_fails(tmp_path):
    link = str(tmp_path / 'out.yaml')
    os.symlink(os.path.join('gone', 'x.yaml'), link)
    with pytest.raises((IOError, OSError)):
        write_atomic(link, b'new\n')
    assert os.path.islink(link) and listing(tmp_path) == ['out.yaml']


@needs_symlinks
def test_symlink_loop_is_refused(tmp_path):
    os.symlink('b', str(tmp_path / 'a'))
    os.symlink('a', str(tmp_path / 'b'))
    with pytest.raises(UnsafeTarget) as info:
        write_atomic(str(tmp_path / 'a'), b'x')
    assert 'symbolic link loop' in str(info.value)
    assert listing(tmp_path) == ['a', 'b']


# -- refused targets --------------------------------------------------------

def _assert_refused(path, reason, data=b'new\n'):
    with pytest.raises(UnsafeTarget) as info:
        write_atomic(path, data)
    message = str(info.value)
    assert message.startswith('refusing to write %s' % path), message
    assert reason in message and message.endswith('nothing was written')
    assert isinstance(info.value, ValueError)
    return info.value


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='no FIFOs here')
def test_fifo_is_refused(tmp_path):
    path = str(tmp_path / 'pipe')
    os.mkfifo(path)
    error = _assert_refused(path, 'it is a FIFO (named pipe), not a regular '
                                  'file')
    assert error.path == path and error.target == os.path.realpath(path)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    assert listing(tmp_path) == ['pipe']


@posix_only
def test_dev_null_is_refused_by_the_check():
    # Only the check: a test must never risk writing the real /dev/null
    # (a regression would replace the machine's /dev/null by a file).
    with pytest.raises(UnsafeTarget) as info:
        _io.check_target('/dev/null')
    assert info.value.reason == 'it is a character device, not a regular file'
    assert stat.S_ISCHR(os.lstat('/dev/null').st_mode)


@pytest.mark.skipif(not hasattr(os, 'mknod') or not hasattr(os, 'geteuid')
                    or os.geteuid() != 0, reason='mknod needs root')
def test_device_node_is_refused(tmp_path):
    path = str(tmp_path / 'null')      # a private copy of /dev/null
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    _assert_refused(path, 'it is a character device, not a regular file')
    assert stat.S_ISCHR(os.lstat(path).st_mode)
    assert listing(tmp_path) == ['null']


@posix_only
@needs_symlinks
def test_symlink_to_a_device_names_both(tmp_path):
    # (a regression could only replace the link, not /dev/null itself)
    link = str(tmp_path / 'out.yaml')
    os.symlink('/dev/null', link)
    error = _assert_refused(link, 'it is a character device')
    assert '(a symbolic link to /dev/null)' in str(error)
    assert os.path.islink(link)


@pytest.mark.skipif(not hasattr(socket, 'AF_UNIX'), reason='no sockets')
def test_socket_is_refused():
    directory = tempfile.mkdtemp(prefix='nsi')   # short: sun_path limit
    path = os.path.join(directory, 's')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        _assert_refused(path, 'it is a socket, not a regular file')
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()
        shutil.rmtree(directory)


def test_directory_is_refused(tmp_path):
    path = str(tmp_path / 'out.yaml')
    os.mkdir(path)
    _assert_refused(path, 'it is a directory')
    assert os.path.isdir(path) and os.listdir(path) == []


@needs_symlinks
def test_symlink_to_a_directory_is_refused(tmp_path):
    os.mkdir(str(tmp_path / 'dir'))
    os.symlink('dir', str(tmp_path / 'out.yaml'))
    _assert_refused(str(tmp_path / 'out.yaml'), 'it is a directory')


@posix_only
@pytest.mark.parametrize('mode', [0o444, 0o400, 0o000, 0o555], ids=oct)
def test_read_only_file_is_refused_even_for_root(tmp_path, mode):
    # Tests may run as root, for whom os.access says every file is
    # writable: the permission bits decide.
    path = str(tmp_path / 'out.yaml')
    write(path, b'old\n', mode)
    _assert_refused(path, 'it is read-only (mode %04o)' % mode)
    os.chmod(path, 0o600)
    assert read(path) == b'old\n' and listing(tmp_path) == ['out.yaml']


@posix_only
def test_file_this_user_may_not_write_is_refused(tmp_path, monkeypatch):
    path = str(tmp_path / 'out.yaml')
    write(path, b'old\n', 0o644)
    calls = []

    def access(name, how):
        calls.append((name, how))
        return False        # what a non-owner sees for mode 0644

    monkeypatch.setattr(os, 'access', access)
    _assert_refused(path, 'this user may not write it (mode 0644)')
    assert calls == [(os.path.realpath(path), os.W_OK)]
    monkeypatch.undo()
    assert read(path) == b'old\n'


def test_check_target_of_a_new_path(tmp_path):
    path = str(tmp_path / 'new.yaml')
    assert _io.check_target(path) == (os.path.realpath(path), None)
