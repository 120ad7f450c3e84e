#!/bin/sh
# Run the libFuzzer targets: first every kept regression input, then each
# target for SECONDS from the committed corpus (fuzz/corpus/TARGET) plus
# what earlier runs found (build-fuzz/corpus/TARGET). A crash stops the
# run; its input is in build-fuzz/crashes/: fix the bug and keep the input
# in fuzz/regress/TARGET/.
#   tools/fuzz.sh SECONDS TARGET...
set -e
cd "$(dirname "$0")/.."
seconds=$1
shift
mkdir -p build-fuzz/crashes
for t in "$@"; do
	regress=$(find fuzz/regress/$t -type f 2>/dev/null || true)
	if [ -n "$regress" ]; then
		build-fuzz/fuzz_$t $regress >build-fuzz/$t.regress.log 2>&1 ||
			{ tail -30 build-fuzz/$t.regress.log; exit 1; }
	fi
	mkdir -p build-fuzz/corpus/$t
	echo "fuzz_$t: ${seconds}s"
	build-fuzz/fuzz_$t -max_total_time="$seconds" -max_len=8192 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	    -artifact_prefix=build-fuzz/crashes/$t- \
	    build-fuzz/corpus/$t fuzz/corpus/$t >build-fuzz/$t.log 2>&1 ||
		{ tail -40 build-fuzz/$t.log; exit 1; }
	grep -E 'DONE' build-fuzz/$t.log | sed 's/^/  /' || true
done
