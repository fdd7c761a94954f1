#!/bin/bash
# Every kind of bad request gets an error with its code and field, the
# connection stays usable, and an oversized line ends only that connection.
. "$(dirname "$0")/lib.sh"

start_ctrd 1
mkdir -p "$test_dir/not-images"
touch "$test_dir/a-file"

python3 - "$socket" "$test_dir" <<'PY' || fail "bad request checks failed"
import json, socket, sys

sock_path, test_dir = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX)
sock.connect(sock_path)
sock.settimeout(10)
stream = sock.makefile("rwb")

def send(line):
    stream.write(line + b"\n")
    stream.flush()
    reply = stream.readline()
    assert reply, f"connection closed after {line[:80]!r}"
    return json.loads(reply)

def restore(**params):
    return json.dumps({"id": 1, "method": "restore", "params": params}).encode()

cases = [
    (b"{not json", "parse-error", None),
    (b"[1, 2]", "parse-error", None),
    (b'{"id": 1}', "invalid-request", "method"),
    (b'{"method": 7}', "invalid-request", "method"),
    (b'{"method": "reboot"}', "method-not-found", "method"),
    (b'{"method": "info", "params": []}', "invalid-request", "params"),
    (b'{"method": "info", "extra": 1}', "invalid-request", "extra"),
    (b'{"method": "info", "params": {"verbose": true}}', "invalid-params", "verbose"),
    (restore(), "invalid-params", "images_dir"),
    (restore(images_dir="relative/dir"), "invalid-params", "images_dir"),
    (restore(images_dir=test_dir + "/missing"), "invalid-images", "images_dir"),
    (restore(images_dir=test_dir + "/a-file"), "invalid-images", "images_dir"),
    (restore(images_dir=test_dir + "/not-images"), "invalid-images", "images_dir"),
    (restore(images_dir="/tmp", lazy_pages="yes"), "invalid-params", "lazy_pages"),
    (restore(images_dir="/tmp", log_level=9), "invalid-params", "log_level"),
    (restore(images_dir="/tmp", log_level="4"), "invalid-params", "log_level"),
    (restore(images_dir="/tmp", pid=1), "invalid-params", "pid"),
    (b'{"method": "status", "params": {"job": "0123456789abcdef"}}', "not-found", "job"),
    (b'{"method": "cancel", "params": {}}', "invalid-params", "job"),
    (b'{"method": "watch", "params": {"job": 5}}', "invalid-params", "job"),
    (b'{"method": "list", "params": {"job": "x"}}', "invalid-params", "job"),
    (b'{"method": "info", "params": null, "id": "\xff"}', "parse-error", None),
]
for line, code, field in cases:
    reply = send(line)
    error = reply.get("error")
    assert error, f"{line[:80]!r}: expected error {code}, got {reply}"
    assert error["code"] == code, f"{line[:80]!r}: code {error['code']}, expected {code}"
    assert error.get("field") == field, f"{line[:80]!r}: field {error.get('field')}, expected {field}"
    assert error["message"], f"{line[:80]!r}: empty message"
    info = send(b'{"id": "after", "method": "info"}')
    assert info["id"] == "after" and "result" in info, info

# The id is echoed on errors too.
reply = send(b'{"id": {"k": [1]}, "method": "nope"}')
assert reply["id"] == {"k": [1]}, reply

# One line over the 1 MiB maximum: an error, then the connection closes.
stream.write(b'{"method": "info", "pad": "' + b"x" * (1 << 20) + b'"}\n')
stream.flush()
reply = json.loads(stream.readline())
assert reply["error"]["code"] == "request-too-large", reply
assert stream.readline() == b"", "connection stayed open after request-too-large"

# A new connection is served.
sock = socket.socket(socket.AF_UNIX)
sock.connect(sock_path)
stream = sock.makefile("rwb")
assert "result" in send(b'{"method": "info"}')
PY
kill -0 "$ctrd_pid" || fail "ctrd died"
log "ok"
