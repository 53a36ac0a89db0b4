"""Keep a grading kernel's hands off everything but its own working folder.

``install`` adds an audit hook (PEP 578) to the kernel process before any student code runs. Audit
hooks cannot be removed, and every Python-level file, process and network operation raises an audit
event first, so the hook can refuse it by raising ``PermissionError``. The rules:

* write, create, delete, rename, chmod or truncate: only inside the working folder (and ``/dev/null``);
  links and symlinks are never made;
* read or list: anything except the protected paths (the instructor's source notebooks, every
  submission, the grader's outputs and its temporary folders) and other processes' ``/proc`` entries
  (and this process's own ``environ`` and ``mem``);
* never: start a program or fork, signal another process, open a network connection, trace or
  profile, list the garbage collector's objects or other threads' frames, add an audit hook, or
  change resource limits.

What it does not stop: native code. ``ctypes`` or a compiled extension can make system calls
directly; the grader flags such code for review (``merge.review_flags``). Run ``tlcourse grade`` in
a container or VM when submissions may be written by an attacker rather than a learner.
"""
from __future__ import annotations

import os
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

_NEVER = {
    **dict.fromkeys(["subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                     "os.forkpty", "pty.spawn", "os.startfile"], "starting another program"),
    **dict.fromkeys(["socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"], "network access"),
    **dict.fromkeys(["os.link", "os.symlink"], "making links"),
    **dict.fromkeys(["sys.settrace", "sys.setprofile"], "tracing or profiling"),
    **dict.fromkeys(["gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames"],
                    "reaching into the interpreter's objects"),
    "sys.addaudithook": "adding an audit hook",
    **dict.fromkeys(["resource.setrlimit", "resource.prlimit"], "changing resource limits"),
}
# event -> (index of the path argument, index of its dir_fd argument or None)
_WRITES = {
    "os.remove": (0, 1), "os.rmdir": (0, 1), "os.mkdir": (0, 2), "os.chmod": (0, 2), "os.chown": (0, 3),
    "os.utime": (0, 3), "os.truncate": (0, None), "os.chflags": (0, None), "os.lchflags": (0, None),
    "os.setxattr": (0, None), "os.removexattr": (0, None), "shutil.rmtree": (0, 1), "sqlite3.connect": (0, None),
}
_READS = {"os.listdir", "os.scandir", "os.chdir", "os.listxattr", "os.getxattr"}


def install(workdir: str, protected: list[str]) -> None:
    """Confine this process: writes only under ``workdir``; no reads under ``protected``."""
    sys.addaudithook(_make_hook(os.path.realpath(workdir), [os.path.realpath(p) for p in protected]))


def _make_hook(workdir: str, protected: list[str]):
    """The hook. It reads no global or builtin name at run time and calls no function a notebook could
    replace (``os.path.realpath`` could be patched to lie): what it needs is bound here, from C modules."""
    import _stat
    import pathlib
    import posix

    lstat, stat, readlink, getcwd = posix.lstat, posix.stat, posix.readlink, posix.getcwd
    is_link, is_dir = _stat.S_ISLNK, _stat.S_ISDIR
    never, writes, reads, write_flags = dict(_NEVER), dict(_WRITES), frozenset(_READS), _WRITE_FLAGS
    encoding, sep, own_pid, writable = sys.getfilesystemencoding(), os.sep, str(os.getpid()), (workdir, "/dev/null")
    path_types, fspath, to_str = (pathlib.PosixPath, pathlib.PurePosixPath), pathlib.PurePath.__fspath__, pathlib.PurePath.__str__
    str_, bytes_, int_, type_, len_, denied, oserror = str, bytes, int, type, len, PermissionError, OSError

    def under(path: str, roots) -> bool:
        for r in roots:
            if path == r or path.startswith(r + sep):
                return True
        return False

    def text(p) -> str:
        """A file name as str; path objects only if pathlib's own methods would convert them."""
        kind = type_(p)
        if kind is str_:
            return p
        if kind is bytes_:
            return bytes_.decode(p, encoding, "surrogateescape")
        if kind in path_types and kind.__fspath__ is fspath and kind.__str__ is to_str:
            return to_str(p)
        raise denied("grading sandbox: give file names as str, bytes or pathlib paths")

    def real(path: str) -> str:
        """Like os.path.realpath: absolute, with every symlink and '..' resolved."""
        if not path.startswith(sep):
            path = getcwd() + sep + path
        done: list = []
        todo = path.split(sep)[::-1]
        hops = 0
        while todo:
            part = todo.pop()
            if part == "" or part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            here = sep + sep.join(done + [part])
            try:
                mode = lstat(here).st_mode
            except oserror:
                done.append(part)
                continue
            if is_link(mode):
                hops += 1
                if hops > 40:
                    raise denied("grading sandbox: too many symbolic links")
                target = readlink(here)
                if target.startswith(sep):
                    done = []
                todo.extend(target.split(sep)[::-1])
            else:
                done.append(part)
        return sep + sep.join(done)

    def resolve(p, dir_fd=None) -> str:
        if type_(p) is int_:
            return real(readlink("/proc/self/fd/" + str_(p)))
        name = text(p)
        if type_(dir_fd) is int_ and dir_fd >= 0 and not name.startswith(sep):
            name = readlink("/proc/self/fd/" + str_(dir_fd)) + sep + name
        return real(name)

    def check_read(path: str, what: str) -> None:
        parts = path.split(sep)
        if under(path, (workdir,)):
            return
        if under(path, protected) or (
                len_(parts) > 2 and parts[1] == "proc" and parts[2].isdigit()
                and (parts[2] != own_pid or "environ" in parts or "mem" in parts)):
            raise denied("grading sandbox: " + what + " " + path + " is not allowed")

    def check_write(path: str, what: str) -> None:
        if not under(path, writable):
            raise denied("grading sandbox: " + what + " " + path + " is not allowed (only the working folder "
                         "is writable)")

    def hook(event, args) -> None:
        if event in never:
            raise denied("grading sandbox: " + never[event] + " is not allowed (" + event + ")")
        if event == "open":
            path, mode, flags = args
            if type_(path) is int_:  # wraps a descriptor that is already open
                return
            target = resolve(path)
            if mode is None:  # os.open: its dir_fd is not in the event, so no dir_fd may point outside workdir
                if not text(path).startswith(sep) and ".." in text(path).split(sep):
                    raise denied("grading sandbox: os.open of a relative path with '..' is not allowed")
                try:
                    folder = is_dir(stat(target).st_mode)
                except oserror:
                    folder = False
                if folder and not under(target, (workdir,)):
                    raise denied("grading sandbox: opening a folder outside the working folder is not allowed")
            if flags & write_flags:
                check_write(target, "writing")
            else:
                check_read(target, "reading")
        elif event == "os.rename":
            src, dst, src_fd, dst_fd = args
            check_write(resolve(src, src_fd), "moving")
            check_write(resolve(dst, dst_fd), "moving to")
        elif event in writes:
            i, j = writes[event]
            path = args[i]
            if event == "sqlite3.connect" and (path == ":memory:" or path == "" or path == b":memory:" or path == b""):
                return
            check_write(resolve(path, args[j] if j is not None else None), "changing (" + event + ")")
        elif event in reads:
            if args and args[0] is not None:
                check_read(resolve(args[0]), event + " on")
        elif event == "os.kill" or event == "os.killpg":
            if str_(args[0]) != own_pid:
                raise denied("grading sandbox: signalling other processes is not allowed")

    return hook
