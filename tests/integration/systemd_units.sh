#!/bin/bash
# The installed files make a working systemd service.  "cmake --install"
# into a staging root (DESTDIR) puts ctrd, ctrd-cli, both units, the
# sysusers.d and tmpfiles.d entries, the default config, three man pages and
# the bash completion in the directories the build's cache names.  Inside
# that root, systemd-analyze verify accepts the installed units together
# with their ExecStart= binary and Documentation= man pages,
# systemd-sysusers creates group ctrd, and systemd-tmpfiles creates ctrd's
# directories with their modes.  The installed ctrd accepts the installed
# config, a reinstall keeps an edited config, and the completion completes
# commands and options.
#
# Needs no CRIU and starts no ctrd.  Needs root, because systemd-tmpfiles
# gives the staged directories to root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] ||
	skip_or_fail "needs root: systemd-tmpfiles gives the staged directories to root"
for tool in cmake systemd-analyze systemd-sysusers systemd-tmpfiles man; do
	command -v "$tool" >/dev/null ||
		skip_or_fail "$tool is missing; scripts/setup.sh installs it"
done

test_dir=$(mktemp -d "/tmp/ctrd-$test_name.XXXXXX")
trap cleanup EXIT
cd "$test_dir" || fail "cannot enter $test_dir"
log "test directory $test_dir"

# The build tree is the nearest directory above the ctrd binary that
# contains CMakeCache.txt.
build_tree=$(cd "$(dirname "$ctrd_bin")" && pwd)
while [ "$build_tree" != / ] && [ ! -f "$build_tree/CMakeCache.txt" ]; do
	build_tree=$(dirname "$build_tree")
done
[ -f "$build_tree/CMakeCache.txt" ] ||
	fail "no CMakeCache.txt in a directory above '$ctrd_bin'; run through ctest or set CTRD_BIN"

# Print member $1 of the JSON object in file $2.  json_value from lib.sh
# reads one line, and the config file spans several.
config_value() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[2]))[sys.argv[1]])' "$1" "$2" ||
		fail "cannot read '$1' from $2"
}

# Print the value of cache variable $1 of the build tree, or $2 when the
# cache leaves it empty.
cache_value() {
	local value
	value=$(sed -n "s/^$1:[A-Z]*=//p" "$build_tree/CMakeCache.txt")
	value=${value:-${2:-}}
	[ -n "$value" ] || fail "$build_tree/CMakeCache.txt has no value for $1"
	echo "$value"
}

# Print install directory $1 as an absolute path: install() takes a
# relative DESTINATION as relative to the prefix.
install_path() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$prefix/$1" ;;
	esac
}

# Set variable $1 to the absolute install directory in cache variable $2,
# whose default is $3.
set_install_dir() {
	local dir
	dir=$(cache_value "$2" "${3:-}") || exit 1
	printf -v "$1" %s "$(install_path "$dir")"
}

prefix=$(cache_value CMAKE_INSTALL_PREFIX)
set_install_dir sbin_dir CMAKE_INSTALL_SBINDIR
set_install_dir bin_dir CMAKE_INSTALL_BINDIR
# GNUInstallDirs leaves these two empty in the cache unless they are set,
# and then uses the defaults given here.
datarootdir=$(cache_value CMAKE_INSTALL_DATAROOTDIR share)
set_install_dir man_dir CMAKE_INSTALL_MANDIR "$datarootdir/man"
set_install_dir unit_dir CTRD_SYSTEMD_UNIT_DIR
set_install_dir sysusers_dir CTRD_SYSUSERS_DIR
set_install_dir tmpfiles_dir CTRD_TMPFILES_DIR
set_install_dir completion_dir CTRD_BASH_COMPLETION_DIR

# Every path below starts with $stage, and an empty DESTDIR would install
# into the host.
stage=$test_dir/root
if [ -z "$test_dir" ] || ! mkdir "$stage"; then
	fail "cannot create the staging root '$stage'"
fi

install_into_stage() {
	DESTDIR=$stage cmake --install "$build_tree" >"$test_dir/install.log" 2>&1 ||
		fail "DESTDIR=$stage cmake --install $build_tree failed:
$(cat "$test_dir/install.log")"
}
install_into_stage
log "installed $build_tree into $stage"

# Fail unless installed binary $1 runs and has the version of built
# binary $2.
check_binary() {
	[ -x "$1" ] || fail "expected an executable at $1"
	assert_eq "$("$2" --version)" "$("$1" --version)" "--version of $1"
}
check_binary "$stage$sbin_dir/ctrd" "$ctrd_bin"
check_binary "$stage$bin_dir/ctrd-cli" "$cli_bin"

# Units: configured, pointing at the installed ctrd and config.
service=$stage$unit_dir/ctrd.service
socket=$stage$unit_dir/ctrd.socket
assert_nonempty_file "$service" "installed service unit"
assert_nonempty_file "$socket" "installed socket unit"
if grep -n '@[A-Za-z_]*@' "$service" >&2; then
	fail "$service still holds @VARIABLE@ placeholders (lines above)"
fi
read -r exec_binary config_option config_file <<<"$(sed -n 's/^ExecStart=//p' "$service")"
assert_eq "$sbin_dir/ctrd" "$exec_binary" "ExecStart= binary in $service"
assert_eq --config "$config_option" "ExecStart= option in $service"

# The socket unit passes the name ctrd looks for, at the path that ctrd and
# ctrd-cli use by default.
activation_name=$(sed -n 's/^#define ACTIVATION_SOCKET_NAME "\(.*\)"$/\1/p' \
	"$source_dir/daemon/activation.h")
assert_eq "$activation_name" "$(sed -n 's/^FileDescriptorName=//p' "$socket")" \
	"FileDescriptorName= in $socket"
assert_eq "$(config_value socket "$stage$config_file")" \
	"$(sed -n 's/^ListenStream=//p' "$socket")" "ListenStream= in $socket"

# Config: the default one, accepted by the installed ctrd, and a graceful
# stop of the default length ends before systemd's stop timeout.
cmp -s "$source_dir/config/ctrd.json" "$stage$config_file" ||
	fail "$stage$config_file differs from config/ctrd.json"
if ! "$stage$sbin_dir/ctrd" --check-config --config "$stage$config_file" \
	>check.out 2>&1; then
	fail "installed ctrd rejects the installed config: $(cat check.out)"
fi
stop_timeout=$(config_value stop_timeout "$stage$config_file")
timeout_stop_sec=$(sed -n 's/^TimeoutStopSec=//p' "$service")
[[ "$timeout_stop_sec" =~ ^[0-9]+$ ]] ||
	fail "TimeoutStopSec= in $service: expected plain seconds, got '$timeout_stop_sec'"
[ "$timeout_stop_sec" -gt "$stop_timeout" ] ||
	fail "TimeoutStopSec=$timeout_stop_sec must exceed stop_timeout $stop_timeout"

# A reinstall keeps a config the operator edited.
echo '{"workers": 3}' >"$stage$config_file"
install_into_stage
assert_eq '{"workers": 3}' "$(cat "$stage$config_file")" \
	"config after a reinstall over an edited one"
assert_file_contains "$test_dir/install.log" "Keeping existing" "reinstall log"

# Man pages: each renders without warnings and names itself.
for page in man8/ctrd.8 man1/ctrd-cli.1 man5/ctrd.json.5; do
	path=$stage$man_dir/$page
	name=$(basename "$page")
	name=${name%.*}
	assert_nonempty_file "$path" "man page $page"
	MANWIDTH=80 man --warnings -l "$path" >"$name.txt" 2>"$name.err" ||
		fail "man -l $path failed: $(cat "$name.err")"
	[ ! -s "$name.err" ] || fail "man -l $path warned: $(cat "$name.err")"
	grep -qE "^ +${name//./\\.} - " "$name.txt" ||
		fail "man -l $path: expected a NAME line for $name, got:
$(head -n 8 "$name.txt")"
done

# sysusers.d creates group ctrd, and tmpfiles.d ctrd's directories, in the
# staged /etc/group and directories.
mkdir -p "$stage/etc"
systemd-sysusers --root="$stage" "$stage$sysusers_dir/ctrd.conf" \
	>sysusers.log 2>&1 || fail "systemd-sysusers failed: $(cat sysusers.log)"
grep -q '^ctrd:' "$stage/etc/group" ||
	fail "systemd-sysusers created no group ctrd in $stage/etc/group"
systemd-tmpfiles --root="$stage" --create "$stage$tmpfiles_dir/ctrd.conf" \
	>tmpfiles.log 2>&1 || fail "systemd-tmpfiles failed: $(cat tmpfiles.log)"
assert_eq "755 root root" "$(stat -c '%a %U %G' "$stage/run/ctrd")" \
	"mode and owner of the staged /run/ctrd"
assert_eq "700 root root" "$(stat -c '%a %U %G' "$stage/var/lib/ctrd")" \
	"mode and owner of the staged /var/lib/ctrd"

# systemd-analyze verify looks up units and the ExecStart= and ExecReload=
# binaries inside --root.  So the staging root gets the host's units, which
# provide the targets that the start transaction pulls in, except any ctrd
# units of the host.  It also gets the host's ExecReload= binary.  MANPATH
# lets verify find the man pages that Documentation= names.
for dir in /lib/systemd/system /usr/lib/systemd/system; do
	if [ -d "$dir" ]; then
		mkdir -p "$stage$dir"
		find "$dir/" -mindepth 1 -maxdepth 1 ! -name 'ctrd.*' \
			-exec cp -a -t "$stage$dir" {} +
	fi
done
reload_binary=$(sed -n 's/^ExecReload=\([^ ]*\).*/\1/p' "$service")
if [ ! -e "$stage$reload_binary" ]; then
	mkdir -p "$stage$(dirname "$reload_binary")"
	cp "$reload_binary" "$stage$reload_binary"
fi
if ! MANPATH=$stage$man_dir systemd-analyze verify --man=yes \
	--root="$stage" "$socket" "$service" >verify.log 2>&1; then
	fail "systemd-analyze verify rejects the installed units: $(cat verify.log)"
fi
[ ! -s verify.log ] ||
	fail "systemd-analyze verify warned about the installed units: $(cat verify.log)"

# Print the completions that the installed completion offers for the last
# of the words given, in a bash that has sourced only that file.
completion=$stage$completion_dir/ctrd-cli
assert_nonempty_file "$completion" "bash completion"
complete_words() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		spec=$(complete -p ctrd-cli) || exit 1
		function=${spec#*-F }
		function=${function%% *}
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$function" ctrd-cli "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
		echo "${COMPREPLY[*]}"
	' completion "$completion" "$@"
}
touch "$test_dir/ctrd.sock"
assert_eq restore "$(complete_words ctrd-cli res)" "completion of 'ctrd-cli res'"
assert_eq --socket "$(complete_words ctrd-cli --so)" "completion of 'ctrd-cli --so'"
assert_eq "$test_dir/ctrd.sock" "$(complete_words ctrd-cli --socket "$test_dir/ctrd.s")" \
	"completion of 'ctrd-cli --socket $test_dir/ctrd.s'"
assert_eq status "$(complete_words ctrd-cli -s "$test_dir/ctrd.sock" st)" \
	"completion of a command after --socket PATH"
assert_eq "--lazy-pages --log-level" "$(complete_words ctrd-cli restore --l)" \
	"completion of 'ctrd-cli restore --l'"
assert_eq "0 1 2 3 4" "$(complete_words ctrd-cli restore --log-level '')" \
	"completion of 'ctrd-cli restore --log-level'"
log PASS
