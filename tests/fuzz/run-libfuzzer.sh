#!/usr/bin/env bash
# Bounded coverage-guided fuzzing with clang's libFuzzer (`make fuzz` calls this).
#   tests/fuzz/run-libfuzzer.sh SECONDS [NAME...]
# Builds every tests/fuzz/fuzz-<name>.c (or only the NAMEs given) with
# -fsanitize=fuzzer,address,undefined against the libraries (podspec/*.c, common/*.c, cri/*.c, stream/*.c,
# archived so a target links only the objects it uses) into build-fuzz/, then runs each for SECONDS
# on build-fuzz/corpus-<name> (kept between runs, the committed seeds from tests/fuzz/corpus/<name>/
# merged in first). One line per target; exits non-zero when a target crashed (or leaked, timed
# out, ran out of memory) or did not build. A cri/ source that does not compile is left out with a
# note (cri/ is large and often mid-change); only the targets that need it then fail to build.
set -u
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
case $secs in
''|*[!0-9]*) echo "usage: $0 SECONDS [NAME...]" >&2; exit 2 ;;
esac

CC=${FUZZ_CC:-clang}
out=build-fuzz
mkdir -p "$out/obj"

# The Makefile's libraries, those that are installed (the podspec side needs few of them).
pkgs=""
for p in libcurl yaml-0.1 jansson libsystemd libseccomp libssl libcrypto libarchive zlib; do
        pkg-config --exists "$p" 2>/dev/null && pkgs="$pkgs $p"
done
pkg_cflags=$(pkg-config --cflags $pkgs)
pkg_libs=$(pkg-config --libs $pkgs)
cflags="-std=gnu11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cflags="$cflags $pkg_cflags"

# The library sources once, instrumented for coverage but without libFuzzer's main.
objs=()
# agent/: only the parsers with fuzz targets (the daemon's other files need the whole agent)
for src in podspec/*.c common/*.c cri/*.c stream/*.c agent/kubeconfig.c agent/api-client.c; do
        [ -e "$src" ] || continue
        obj="$out/obj/${src//\//_}.o"
        if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ] || \
           [ -n "$(find podspec common cri stream -name '*.h' -newer "$obj" 2>/dev/null | head -n 1)" ]; then
                if ! $CC $cflags -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj" \
                        2>"$out/build.log"; then
                        rm -f "$obj"
                        case $src in
                        cri/*)
                                echo "fuzz: leaving out $src, which does not build:" >&2
                                head -n 5 "$out/build.log" >&2
                                continue ;;
                        esac
                        cat "$out/build.log" >&2
                        echo "fuzz: cannot build $src" >&2
                        exit 1
                fi
        fi
        objs+=("$obj")
done

# One archive, so each target pulls in only the objects it uses (and needs only their libraries).
lib="$out/libfuzz-libs.a"
rm -f "$lib"
if ! ar rcs "$lib" "${objs[@]}" 2>"$out/build.log"; then
        cat "$out/build.log" >&2
        echo "fuzz: cannot archive the library objects" >&2
        exit 1
fi

if [ $# -gt 0 ]; then
        targets=("$@")
else
        targets=()
        for f in tests/fuzz/fuzz-*.c; do
                [ -e "$f" ] || continue
                n=${f#tests/fuzz/fuzz-}
                targets+=("${n%.c}")
        done
fi

failed=0
for name in "${targets[@]}"; do
        src="tests/fuzz/fuzz-$name.c"
        bin="$out/fuzz-$name"
        log="$out/fuzz-$name.log"
        corpus="$out/corpus-$name"

        if ! $CC $cflags -fsanitize=fuzzer,address,undefined "$src" "$lib" -o "$bin" $pkg_libs -lm \
                >"$log" 2>&1; then
                echo "$name: BUILD FAILED (see $log)"
                failed=1
                continue
        fi

        mkdir -p "$corpus"
        if [ -d "tests/fuzz/corpus/$name" ]; then
                cp -n "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
        fi
        before=$(find "$corpus" -maxdepth 1 -type f | wc -l)

        # A dictionary, when there is one: tests/fuzz/<name>.dict, else the YAML one for pod-yaml.
        dict=()
        if [ -e "tests/fuzz/$name.dict" ]; then
                dict=(-dict="tests/fuzz/$name.dict")
        elif [ "$name" = pod-yaml ] && [ -e tests/fuzz/yaml.dict ]; then
                dict=(-dict=tests/fuzz/yaml.dict)
        fi

        # The artifact prefix keeps crash files per target: build-fuzz/<name>-crash-<sha1>.
        "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=25 \
                -print_final_stats=1 -artifact_prefix="$out/$name-" "${dict[@]}" "$corpus" >"$log" 2>&1
        rc=$?

        after=$(find "$corpus" -maxdepth 1 -type f | wc -l)
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
        [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | sed 's/Test unit written to //')

        if [ "$rc" -ne 0 ] || [ -n "$artifact" ]; then
                sanitizers='libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer'
                kind=$(grep -oE "ERROR: ($sanitizers): [a-z-]+" "$log" | head -n 1 | sed 's/^ERROR: //')
                [ -n "$kind" ] || kind=$(grep -m 1 -oE 'runtime error: .*' "$log" | cut -c1-80)
                echo "$name: ${runs:-?} runs, $((after - before)) new corpus entries," \
                        "1 crash: ${kind:-exit $rc} -> ${artifact:-(no artifact)} (log $log)"
                failed=1
        else
                echo "$name: ${runs:-?} runs, $((after - before)) new corpus entries, 0 crashes"
        fi
done
exit $failed
