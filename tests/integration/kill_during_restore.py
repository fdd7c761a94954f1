"""Submit a restore to ctrd, follow it, and SIGKILL one of its parts.

usage: kill_during_restore.py SOCKET IMAGES_DIR WHEN TARGET [options]

WHEN is the moment of the kill:
  started    the job's `started` event arrived
  tree       the image's root pid (--image-pid) runs as the child of
             --parent while the job still restores: CRIU has forked the
             tree and is filling its memory
  restored   the job's `restored` event arrived
  transfer   the first `pages-progress` event after `restored` arrived: a
             lazy restore's pages are being copied

TARGET is the process killed:
  worker     the CRIU worker named by the `started` event
  server     the lazy-pages server named by the `lazy-pages-ready` event
  PID        that pid, for example ctrd's

--signal sends another signal, such as STOP, in place of SIGKILL, and
--detach exits right after sending it.

Every line ctrd sends is printed to stdout as it arrives.  The script exits
0 once the job has ended or ctrd closed the connection after the kill, and
1 when the moment never came, the kill failed or nothing ended within
--timeout seconds.
"""
import argparse
import json
import os
import signal
import socket
import sys
import time

ENDING_EVENTS = ("failed", "canceled", "exited")


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("images_dir")
    parser.add_argument("when", choices=("started", "tree", "restored",
                                         "transfer"))
    parser.add_argument("target")
    parser.add_argument("--lazy", action="store_true")
    parser.add_argument("--image-pid", type=int, default=0)
    parser.add_argument("--parent", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--signal", default="KILL")
    parser.add_argument("--detach", action="store_true")
    return parser.parse_args()


def parent_of(pid):
    """Return the parent pid of `pid`, or 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may contain spaces: split after its ')'.
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def tree_forked(args):
    return args.image_pid > 1 and parent_of(args.image_pid) == args.parent


def target_pid(args, pids):
    """Return the pid TARGET names, or None while no event named it."""
    return int(args.target) if args.target.isdigit() else pids.get(args.target)


def kill(args, pid, moment):
    if not isinstance(pid, int) or pid <= 1:
        sys.exit(f"refusing to signal pid {pid!r} ({moment})")
    os.kill(pid, getattr(signal, "SIG" + args.signal))
    print(f"sent SIG{args.signal} to pid {pid} ({moment})", file=sys.stderr)
    if args.detach:
        sys.exit(0)


def main():
    args = parse_args()
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(args.socket)
    sock.settimeout(0.01)
    request = {"id": 1, "method": "restore", "params": {
        "images_dir": args.images_dir, "lazy_pages": args.lazy,
        "follow": True}}
    sock.sendall((json.dumps(request) + "\n").encode())

    pids = {}
    killed = False
    restored = False
    buffered = b""
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        # Poll the process tree between reads: the tree has no event.
        if (not killed and args.when == "tree" and "worker" in pids and
                not restored and tree_forked(args)):
            killed = True
            kill(args, target_pid(args, pids), "root forked, restore running")
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if killed:
                return 0
            sys.exit("ctrd closed the connection before the kill")
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            print(line.decode(), flush=True)
            message = json.loads(line)
            event = message.get("event")
            if event == "started":
                pids["worker"] = message.get("worker_pid")
            elif event == "lazy-pages-ready":
                pids["server"] = message.get("server_pid")
            elif event == "restored":
                restored = True
                if args.when == "tree" and not killed:
                    sys.exit("the restore finished before its tree was seen")
            if event == "pages-complete" and not killed:
                sys.exit("every page arrived before the kill")
            if event in ENDING_EVENTS:
                if not killed:
                    sys.exit(f"job ended with '{event}' before the kill")
                return 0
            moment = (event == args.when or
                      (args.when == "transfer" and restored and
                       event == "pages-progress"))
            if not killed and moment:
                killed = True
                kill(args, target_pid(args, pids), f"at the '{event}' event")
    sys.exit(f"no end within {args.timeout} s (killed: {killed})")


sys.exit(main())
