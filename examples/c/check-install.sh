#!/bin/sh
# Installs the build into a scratch prefix and builds examples/c/report.c
# against it with nothing but pkg-config, then runs it on a recording.
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild --quiet >/dev/null
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
root="$tmp/root$prefix"
pcdir="$root/$libdir/pkgconfig"
sed -i "s|^prefix=.*|prefix=$root|" "$pcdir/libfangs.pc"
PKG_CONFIG_PATH="$pcdir" cc -Wall -Wextra -Werror "$src/examples/c/report.c" \
	$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs libfangs) -o "$tmp/report"
LD_LIBRARY_PATH="$root/$libdir" "$tmp/report" "$tmp/x.db" "$src/examples/recordings/example-banner-1.0.0.ndjson" example-banner 1.0.0 | tee "$tmp/out"
LD_LIBRARY_PATH="$root/$libdir" "$tmp/report" "$tmp/x.db" "$src/examples/recordings/example-banner-1.1.0.ndjson" example-banner 1.1.0 | tee "$tmp/out2"
grep -q "seeded, 0 deviations" "$tmp/out"
grep -q "fs_cred_read" "$tmp/out2"
grep -q "13 deviations, 5 findings" "$tmp/out2"
echo "1 passed, 0 failed"
