#!/bin/bash
# Provision a CRIU >= 4.0 that works on this kernel and print its path.
#
# Debian 12 ships CRIU 3.17.1, which fails `criu check` on current kernels.
# When no usable CRIU is found, this script downloads CRIU and the newer
# libraries it links against from Debian unstable, or else Debian 13.  It
# unpacks them under a private prefix and writes a `criu` wrapper that runs
# the binary through the bundled dynamic loader.  The system's apt
# configuration, package database and libraries are left untouched.
#
# Usage: provision-criu.sh [--prefix DIR] [--force]
# The usable CRIU is always reachable as PREFIX/bin/criu afterwards.
set -euo pipefail

prefix=${CTRD_CRIU_PREFIX:-/opt/ctrd/criu}
force=0
min_version=40000

while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) prefix=$2; shift 2 ;;
	--force) force=1; shift ;;
	-h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "provision-criu: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

say() { echo "provision-criu: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root: CRIU needs root to check the kernel"

# Print the version of the CRIU at $1 as MAJOR*10000+MINOR*100+SUBLEVEL.
criu_version_number() {
	local line
	line=$("$1" --version 2>/dev/null | sed -n 's/^Version: *//p') || return 1
	[ -n "$line" ] || return 1
	echo "$line" | awk -F. '{ printf "%d\n", $1 * 10000 + $2 * 100 + $3 }'
}

# Succeed when the CRIU at $1 is new enough and passes its own kernel check.
criu_usable() {
	local version
	[ -x "$1" ] || return 1
	version=$(criu_version_number "$1") || return 1
	[ "$version" -ge "$min_version" ] || return 1
	"$1" check >/dev/null 2>&1
}

wrapper="$prefix/bin/criu"
if [ "$force" -eq 0 ] && criu_usable "$wrapper"; then
	say "CRIU $("$wrapper" --version | sed -n 's/^Version: *//p') already provisioned at $wrapper"
	echo "$wrapper"
	exit 0
fi

mkdir -p "$prefix/bin"

system_criu=$(command -v criu || true)
if [ "$force" -eq 0 ] && [ -n "$system_criu" ] && criu_usable "$system_criu"; then
	ln -sfn "$system_criu" "$wrapper"
	say "using the installed CRIU $("$system_criu" --version | sed -n 's/^Version: *//p') at $system_criu"
	echo "$wrapper"
	exit 0
fi
if [ -n "$system_criu" ]; then
	say "installed CRIU at $system_criu is older than 4.0 or fails 'criu check', downloading a newer one"
else
	say "no CRIU installed, downloading one"
fi

# Reuse the Debian mirror the host is configured with, so hosts behind a
# local mirror keep working.  deb822 sources first, then one-line sources.
debian_mirror() {
	local uri
	uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{ print $2 }' | grep -v -- '-security' | head -n 1 || true)
	if [ -z "$uri" ]; then
		uri=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' |
			grep -v -- '-security' | head -n 1 || true)
	fi
	[ -n "$uri" ] || return 1
	echo "$uri"
}

# The downloaded CRIU also links against libraries that Debian 12 ships in
# versions it accepts; those come from the host's own apt sources.
host_libraries="libbsd0 libgnutls30 libnftables1 libprotobuf-c1 libuuid1"
say "installing host libraries: $host_libraries"
install_host_libraries() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $host_libraries >/dev/null
}
install_host_libraries || { apt-get update -q >/dev/null && install_host_libraries; } ||
	die "apt-get install $host_libraries failed"

mirror=$(debian_mirror) || die "no Debian mirror found in /etc/apt/sources.list*; configure apt first"
apt_dir="$prefix/apt"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# Run apt-get against a private sources file, lists folder and cache.
private_apt() {
	apt-get -q \
		-o Dir::Etc::SourceList="$apt_dir/sources.list" \
		-o Dir::Etc::SourceParts="$apt_dir/sources.list.d" \
		-o Dir::State::Lists="$apt_dir/lists" \
		-o Dir::Cache="$apt_dir/cache" \
		-o Debug::NoLocking=1 \
		"$@"
}

# Download the packages named after $1 (a suite) into $apt_dir/debs.
download_suite() {
	local suite=$1
	shift
	rm -rf "$apt_dir"
	mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" \
		"$apt_dir/cache/archives/partial" "$apt_dir/debs"
	echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt_dir/sources.list"
	say "fetching package lists for '$suite' from $mirror"
	private_apt update >"$apt_dir/update.log" 2>&1 ||
		{ say "apt-get update for '$suite' failed, see $apt_dir/update.log"; return 1; }
	(cd "$apt_dir/debs" && private_apt download "$@") >"$apt_dir/download.log" 2>&1 ||
		{ say "apt-get download from '$suite' failed, see $apt_dir/download.log"; return 1; }
}

# Unpack every downloaded package into a fresh root and write the wrapper.
install_root() {
	local root="$prefix/root" loader libdirs deb
	rm -rf "$root.new"
	mkdir -p "$root.new"
	for deb in "$apt_dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root.new"
	done
	loader=$(find "$root.new" -name 'ld-linux-x86-64.so.2' \( -type f -o -type l \) | head -n 1)
	[ -n "$loader" ] || { say "no ld-linux-x86-64.so.2 in the downloaded libc6"; return 1; }
	[ -x "$root.new/usr/sbin/criu" ] || { say "no usr/sbin/criu in the downloaded criu package"; return 1; }
	rm -rf "$root"
	mv "$root.new" "$root"
	loader=${loader/#$root.new/$root}
	libdirs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu"

	cat >"$wrapper.new" <<WRAPPER
#!/bin/sh
# Written by ctrd's provision-criu.sh.  This CRIU needs a newer glibc than the
# host's, so it runs through the dynamic loader that came with it.
exec "$loader" --library-path "$libdirs" "$root/usr/sbin/criu" "\$@"
WRAPPER
	chmod 755 "$wrapper.new"
	rm -f "$wrapper"
	mv "$wrapper.new" "$wrapper"
}

try_suite() {
	download_suite "$@" && install_root && criu_usable "$wrapper"
}

if try_suite sid criu libcompel1 libc6 libnet9 libnl-3-200; then
	suite=sid
elif say "falling back to Debian 13 (trixie)" && try_suite trixie criu libcompel1 libc6; then
	suite=trixie
else
	die "no working CRIU >= 4.0 could be provisioned; 'criu check' output: $("$wrapper" check 2>&1 | tail -n 3 || true)"
fi

say "provisioned CRIU $("$wrapper" --version | sed -n 's/^Version: *//p') from Debian $suite at $wrapper"
echo "$wrapper"
