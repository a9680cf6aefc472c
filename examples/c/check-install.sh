#!/bin/sh
# Installs the build into a scratch prefix and uses it as a consumer would:
#  - pkg-config sees only that prefix (PKG_CONFIG_LIBDIR), so no .pc file of
#    a private dependency (json-c, libcurl, ...: their -dev packages) helps;
#    --cflags and --libs must work all the same;
#  - every public header preprocesses with only the prefix's include
#    directory, and what it pulls in is the prefix's own headers, the C
#    library's and the compiler's (no -dev package's header);
#  - examples/c/report.c builds with nothing but pkg-config and runs on a
#    recording;
#  - the Python package meson installed imports and finds the installed
#    library by its soname.
set -eu
build=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild --quiet >/dev/null
opt() {
	meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]][0])' "$1"
}
prefix=$(opt prefix)
libdir=$(opt libdir)
includedir=$(opt includedir)
case $libdir in /*) ;; *) libdir="$prefix/$libdir" ;; esac
case $includedir in /*) ;; *) includedir="$prefix/$includedir" ;; esac
root="$tmp/root$prefix"
pcdir="$tmp/root$libdir/pkgconfig"
sed -i "s|^prefix=.*|prefix=$root|" "$pcdir/libfangs.pc"

# pkg-config with the prefix alone
pc() { PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH= pkg-config "$@"; }
if grep -q '^Requires' "$pcdir/libfangs.pc"; then
	echo "libfangs.pc requires other .pc files:" >&2
	grep '^Requires' "$pcdir/libfangs.pc" >&2
	exit 1
fi
cflags=$(pc --cflags libfangs)
libs=$(pc --libs libfangs)
pc --static --libs libfangs >/dev/null
echo "cflags: $cflags"
echo "libs: $libs"

# the public headers need nothing beyond libc
inc="$tmp/root$includedir"
allowed_pkgs="libc6-dev linux-libc-dev"
: >"$tmp/alldeps"
for h in "$inc"/fangs/*.h "$inc"/fangs/sys/*.h; do
	cc -std=c99 -pedantic -Werror -E -M -MT x -I"$inc" -x c "$h" -o "$tmp/deps"
	sed -e 's/^x://' -e 's/\\$//' "$tmp/deps" | tr ' ' '\n' | sed "s|^|$h |" >>"$tmp/alldeps"
done
awk 'NF == 2 { print $2 }' "$tmp/alldeps" | sort -u | while read -r dep; do
	case $dep in
	"$inc"/*) continue ;;
	/usr/lib/gcc/*) continue ;; # the compiler's own (stddef.h, stdint.h)
	esac
	owner=$(dpkg-query -S "$(readlink -f "$dep")" 2>/dev/null | sed 's/:.*//' | head -n1 || true)
	case " $allowed_pkgs " in
	*" $owner "*) ;;
	*)
		echo "$(awk -v d="$dep" '$2 == d { print $1 }' "$tmp/alldeps" | head -n1) includes $dep" \
			"(package '${owner:-none}'), not the C library's" >&2
		exit 1 ;;
	esac
done
echo "public headers: only libc and the compiler's"

cc -Wall -Wextra -Werror "$src/examples/c/report.c" $cflags $libs -o "$tmp/report"
LD_LIBRARY_PATH="$tmp/root$libdir" "$tmp/report" "$tmp/x.db" "$src/examples/recordings/example-banner-1.0.0.ndjson" example-banner 1.0.0 | tee "$tmp/out"
LD_LIBRARY_PATH="$tmp/root$libdir" "$tmp/report" "$tmp/x.db" "$src/examples/recordings/example-banner-1.1.0.ndjson" example-banner 1.1.0 | tee "$tmp/out2"
grep -q "seeded, 0 deviations" "$tmp/out"
grep -q "fs_cred_read" "$tmp/out2"
grep -q "13 deviations, 5 findings" "$tmp/out2"

# the Python package meson installed, with the installed library
init=$(find "$tmp/root" -path '*/fangs/__init__.py' | head -n1)
if [ -z "$init" ]; then
	echo "meson install did not install the Python package" >&2
	exit 1
fi
site=$(dirname "$(dirname "$init")")
test -f "$site/fangs/py.typed"
test -f "$site/fangs/_paths.py"
(cd "$tmp" && env -u FANGS_LIB -u FANGS_LIBRARY PYTHONPATH="$site" LD_LIBRARY_PATH="$tmp/root$libdir" \
	python3 -c 'import fangs, sys
assert fangs.__file__.startswith(sys.argv[1]), fangs.__file__
st = fangs.Storage(":memory:")
a = st.import_events(sys.argv[2], "example-banner", "1.0.0")
print("python:", fangs.lib._name, a.baseline)
assert a.baseline == "seeded"' "$site" "$src/examples/recordings/example-banner-1.0.0.ndjson")
echo "1 passed, 0 failed"
