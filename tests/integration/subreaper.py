"""Run a command as the child of a subreaper that reaps every orphan.

Processes that outlive the command (restored trees after ctrd exits) are
reparented here instead of to PID 1, which on some hosts never reaps them,
so a test can check them and kill them cleanly.

usage: subreaper.py PID_FILE STATUS_FILE COMMAND [ARG...]

Writes the command's pid to PID_FILE, and its wait status ("exit N" or
"signal N") to STATUS_FILE once it ends.  Keeps reaping orphans until
SIGTERM, then exits.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main():
    pid_file, status_file, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER): %s"
                 % os.strerror(ctypes.get_errno()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    with open(pid_file + ".tmp", "w") as f:
        f.write("%d\n" % child)
    os.rename(pid_file + ".tmp", pid_file)
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid == 0:
            time.sleep(0.05)
            continue
        if pid != child:
            continue
        if os.WIFSIGNALED(status):
            text = "signal %d" % os.WTERMSIG(status)
        else:
            text = "exit %d" % os.WEXITSTATUS(status)
        with open(status_file + ".tmp", "w") as f:
            f.write(text + "\n")
        os.rename(status_file + ".tmp", status_file)


main()
