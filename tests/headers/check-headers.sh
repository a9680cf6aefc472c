#!/bin/sh
# Every public header compiles alone as C99 pedantic and from C++, and the
# shared library exports nothing but fangs_* symbols.
# usage: check-headers.sh INCLUDE_DIR LIBFANGS_SO
set -u
inc=$1
lib=$2
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
for h in $(cd "$inc" && find fangs -name '*.h' | sort); do
	printf '#include <%s>\nint fangs_header_check_dummy;\n' "$h" > "$tmp/t.c"
	if $cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -fsyntax-only "$tmp/t.c" 2> "$tmp/err"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $h does not compile alone as C99 pedantic:"; cat "$tmp/err"; fail=$((fail + 1))
	fi
	printf '#include <%s>\nint fangs_header_check_dummy;\n' "$h" > "$tmp/t.cc"
	if $cxx -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -fsyntax-only "$tmp/t.cc" 2> "$tmp/err"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $h does not compile from C++:"; cat "$tmp/err"; fail=$((fail + 1))
	fi
done
leaks=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^fangs_' | grep -v '^FANGS_' || true)
if [ -n "$leaks" ]; then
	echo "FAIL: libfangs exports symbols outside the fangs_ prefix:"; echo "$leaks"; fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
internal=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep '^fangs__' || true)
if [ -n "$internal" ]; then
	echo "FAIL: libfangs exports internal fangs__ symbols:"; echo "$internal"; fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
