#!/usr/bin/env bash
# Coverage-guided fuzzing of topk_core's decoders and merges (cargo-fuzz, libFuzzer),
# on the stable toolchain. See docs/fuzzing.md.
#
#   scripts/fuzz.sh                       smoke: 20 s per target, every target (CI)
#   scripts/fuzz.sh --seconds S [T...]    S seconds per target
#   scripts/fuzz.sh --runs N [T...]       N executions per target
#   scripts/fuzz.sh --long [T...]         10,000,000 executions per target
#   options: --max-len BYTES (default 4096)   --no-nice   --list
#
# Targets (default all): hll_bytes hll_text cms_bytes cms_text spacesaving_bytes
# spacesaving_text heavy_hitters_bytes heavy_hitters_text merge. They run one after
# another, under `nice -n 10`, each from the committed seeds (fuzz/seeds/T, read only)
# plus its working corpus (fuzz/corpus/T, kept between runs, not committed), and print
# executions, time and speed per target. Installs cargo-fuzz if missing.
#
# Exit status: 0 when nothing was found; 1 when a target crashed, aborted, ran out of
# memory or timed out (the input is saved under fuzz/artifacts/T/: replay it with
# `cargo fuzz run --sanitizer none -a T FILE`, then add it to
# core/tests/fuzz_regressions/T/); 2 on a usage error or if the harness does not build.
# If cargo-fuzz cannot be installed, it fails (exit 2): a smoke run that did not run is
# not a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

ALL_TARGETS=(hll_bytes hll_text cms_bytes cms_text spacesaving_bytes spacesaving_text
             heavy_hitters_bytes heavy_hitters_text merge)
CARGO_FUZZ_VERSION=0.13.2
mode=seconds
amount=20
max_len=4096
nice_cmd=(nice -n 10)
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds|--runs|--max-len)
            [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: $1 needs a number" >&2; exit 2; }
            case "$1" in
                --seconds) mode=seconds; amount=$2 ;;
                --runs) mode=runs; amount=$2 ;;
                --max-len) max_len=$2 ;;
            esac
            shift ;;
        --long) mode=runs; amount=10000000 ;;
        --no-nice) nice_cmd=() ;;
        --list) printf '%s\n' "${ALL_TARGETS[@]}"; exit 0 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *)
            if [[ " ${ALL_TARGETS[*]} " != *" $1 "* ]]; then
                echo "fuzz.sh: unknown target $1 (known: ${ALL_TARGETS[*]})" >&2; exit 2
            fi
            targets+=("$1") ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install --locked)"
    if ! "${nice_cmd[@]}" cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked; then
        echo "fuzz.sh: FAILED: cargo-fuzz $CARGO_FUZZ_VERSION could not be installed (cargo install needs crates.io)" >&2
        exit 2
    fi
fi

# The sanitizer: none by default. Rust code is memory-safe (topk_core has no `unsafe`);
# what fuzzing looks for are panics, aborts, overflows (-a turns on debug assertions and
# overflow checks) and huge allocations (refused by the harness's allocator, see
# fuzz/src/lib.rs). FUZZ_SANITIZER=address works too on stable, through RUSTC_BOOTSTRAP.
sanitizer=${FUZZ_SANITIZER:-none}
if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi
fuzz_flags=(--sanitizer "$sanitizer" --debug-assertions)

echo "== building the fuzz targets (cargo fuzz build ${fuzz_flags[*]})"
if ! "${nice_cmd[@]}" cargo fuzz build "${fuzz_flags[@]}" 2>&1 | tail -n 3; then
    echo "fuzz.sh: the fuzz targets do not build" >&2
    exit 2
fi

logs=$REPO/fuzz/artifacts/logs
mkdir -p "$logs"
if [ "$mode" = seconds ]; then
    limit=(-max_total_time="$amount")
else
    limit=(-runs="$amount")
fi
lib_args=("${limit[@]}" -max_len="$max_len" -rss_limit_mb=2048 -malloc_limit_mb=2048
          -timeout=30 -print_final_stats=1 -detect_leaks=0)

status=0
summary=()
for t in "${targets[@]}"; do
    corpus=$REPO/fuzz/corpus/$t
    artifacts=$REPO/fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    before=$(ls -1 "$artifacts" | wc -l)
    log=$logs/$t.log
    echo "== $t (${limit[*]}, -max_len=$max_len) log: ${log#$REPO/}"
    start=$(date +%s)
    set +e
    "${nice_cmd[@]}" cargo fuzz run "${fuzz_flags[@]}" "$t" "$corpus" "fuzz/seeds/$t" -- \
        "${lib_args[@]}" >"$log" 2>&1
    rc=$?
    set -e
    secs=$(( $(date +%s) - start ))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
    speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -n 1)
    rss=$(awk '/stat::peak_rss_mb/ {print $2}' "$log" | tail -n 1)
    after=$(ls -1 "$artifacts" | wc -l)
    if [ "$rc" = 0 ]; then
        result=ok
    else
        status=1
        if [ "$after" -gt "$before" ]; then
            result="FOUND: $(ls -1t "$artifacts" | head -n 1 | sed "s|^|fuzz/artifacts/$t/|")"
        else
            result="FAILED (exit $rc, no artifact)"
        fi
        echo "---- what $t found (full log: ${log#$REPO/}):"
        grep -E -A4 'panicked at|ERROR: libFuzzer|memory allocation of' "$log" | head -n 30 || true
        grep -v '^#[0-9]' "$log" | grep -A3 -E 'Failing input|Reproduce with' || true
        echo "----"
    fi
    line=$(printf '%-20s %12s execs %6s s %8s exec/s %6s MB  %s' "$t" "${execs:-?}" "$secs" \
        "${speed:-?}" "${rss:-?}" "$result")
    echo "$line"
    summary+=("$line")
done

echo "== fuzzing summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), cargo-fuzz $(cargo fuzz --version 2>/dev/null | awk '{print $2}'), $(rustc --version))"
printf '%s\n' "${summary[@]}"
if [ "$status" != 0 ]; then
    echo "fuzz.sh: a target found a crashing input: replay it with"
    echo "  cargo fuzz run ${fuzz_flags[*]} TARGET FILE"
    echo "fix it, and add the file to core/tests/fuzz_regressions/TARGET/ (see docs/fuzzing.md)."
fi
exit "$status"
