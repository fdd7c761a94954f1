#!/bin/bash
# Malformed and invalid requests get the error code the API defines, on one
# connection that keeps serving requests after each error.  A line over the 1 MiB
# maximum gets request-too-large and closes only that connection.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

begin_test
start_ctrd 1

# A directory with an empty inventory.img, and a directory without one.
mkdir -p fake-images no-images
touch fake-images/inventory.img no-images/dump.log

python3 - "$ctrd_socket" "$test_dir" <<'PY' || fail "bad request checks failed (see above)"
import json, socket, sys

socket_path, test_dir = sys.argv[1], sys.argv[2]
max_line = 1024 * 1024  # the API's maximum request line, newline included
failures = []


def connect():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(socket_path)
    return sock, sock.makefile("rb")


def read_reply(stream):
    """Return the next reply line as an object, skipping event lines."""
    while True:
        line = stream.readline()
        if not line:
            return None
        message = json.loads(line)
        if "result" in message or "error" in message:
            return message


def call(sock, stream, line):
    sock.sendall(line + b"\n")
    return read_reply(stream)


def check(case, condition, message):
    if not condition:
        failures.append(f"{case}: {message}")


def restore(request_id, **params):
    return json.dumps({"id": request_id, "method": "restore",
                       "params": params}).encode()


fake = test_dir + "/fake-images"
cases = [
    # (name, request line, id in the reply, code, field or None)
    ("malformed JSON", b'{"id": 1, "method": "info"', None, "parse-error", None),
    ("JSON array", b'[1, 2]', None, "parse-error", None),
    ("missing method", b'{"id": 10}', 10, "invalid-request", "method"),
    ("method not a string", b'{"id": 11, "method": 7}', 11,
     "invalid-request", "method"),
    ("params not an object", b'{"id": 12, "method": "info", "params": []}', 12,
     "invalid-request", "params"),
    ("unknown method", b'{"id": 2, "method": "reboot"}', 2, "method-not-found", None),
    ("object id echoed", b'{"id": {"k": [1]}, "method": "reboot"}', {"k": [1]},
     "method-not-found", None),
    ("unknown param", restore(3, images_dir=fake, bogus=True), 3,
     "invalid-params", "bogus"),
    ("mistyped lazy_pages", restore(4, images_dir=fake, lazy_pages="yes"), 4,
     "invalid-params", "lazy_pages"),
    ("missing images_dir param", restore(13), 13, "invalid-params", "images_dir"),
    ("relative images_dir", restore(5, images_dir="relative/images"), 5,
     "invalid-params", "images_dir"),
    ("missing images_dir", restore(6, images_dir=test_dir + "/missing"), 6,
     "image-missing", "images_dir"),
    ("images_dir without inventory.img",
     restore(7, images_dir=test_dir + "/no-images"), 7, "image-missing",
     "images_dir"),
    ("images_dir is a file",
     restore(14, images_dir=test_dir + "/fake-images/inventory.img"), 14,
     "image-missing", "images_dir"),
    ("empty inventory.img", restore(17, images_dir=fake), 17,
     "image-corrupt", "images_dir"),
    ("log_level 9", restore(8, images_dir=fake, log_level=9), 8,
     "invalid-params", "log_level"),
    ("log_level as a string", restore(15, images_dir=fake, log_level="4"), 15,
     "invalid-params", "log_level"),
    ("status without job",
     b'{"id": 16, "method": "status", "params": {}}', 16, "invalid-params", "job"),
    ("status of unknown job",
     b'{"id": 9, "method": "status", "params": {"job": "0123456789abcdef"}}', 9,
     "not-found", None),
]

sock, stream = connect()
for name, line, request_id, code, field in cases:
    reply = call(sock, stream, line)
    if reply is None:
        failures.append(f"{name}: expected an error reply, got a closed connection")
        break
    error = reply.get("error") or {}
    check(name, "error" in reply, f"expected an error reply, got {reply}")
    check(name, reply.get("id") == request_id,
          f"expected id {request_id!r}, got {reply.get('id')!r}")
    check(name, error.get("code") == code,
          f"expected code {code!r}, got {error.get('code')!r}")
    if field is not None:
        check(name, error.get("field") == field,
              f"expected field {field!r}, got {error.get('field')!r}")
    check(name, isinstance(error.get("message"), str) and error["message"],
          f"expected a message, got {error.get('message')!r}")

    after = call(sock, stream, b'{"id": "after", "method": "info"}')
    check(name, after is not None and after.get("id") == "after" and
          "version" in after.get("result", {}),
          f"expected the same connection to answer info, got {after}")
    print(f"{name}: {error.get('code')} {error.get('field') or ''}".rstrip(),
          file=sys.stderr)

# A line of exactly the maximum, newline included, is still served.
prefix, suffix = b'{"id": "', b'", "method": "info"}'
line = prefix + b"x" * (max_line - 1 - len(prefix) - len(suffix)) + suffix
reply = call(sock, stream, line)
check("line of exactly 1 MiB", reply is not None and "result" in reply,
      f"expected an info result, got {str(reply)[:200]}")

# One byte more: request-too-large, then the connection closes.
line = prefix + b"x" * (max_line - len(prefix) - len(suffix)) + suffix
try:
    sock.sendall(line + b"\n")
except (BrokenPipeError, ConnectionResetError):
    pass  # ctrd may close before it has read the whole line
reply = read_reply(stream)
check("line over 1 MiB", reply is not None and
      (reply.get("error") or {}).get("code") == "request-too-large",
      f"expected error request-too-large, got {str(reply)[:200]}")
# When ctrd closes with some of our bytes unread, Linux reports a reset
# instead of end of file.  Both mean that the connection is closed.
try:
    rest = stream.readline()
except ConnectionResetError:
    rest = b""
except socket.timeout:
    rest = b"(still open after 10 s)"
check("line over 1 MiB", rest == b"",
      f"expected the connection closed, got {rest[:200]!r}")
sock.close()

sock, stream = connect()
reply = call(sock, stream, b'{"id": "new", "method": "info"}')
check("new connection", reply is not None and "result" in reply,
      f"expected an info result, got {reply}")
sock.close()

for failure in failures:
    print("  " + failure, file=sys.stderr)
sys.exit(1 if failures else 0)
PY
pid_running "$ctrd_pid" || fail "ctrd exited during the bad requests"
log PASS
