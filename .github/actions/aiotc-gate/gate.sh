#!/usr/bin/env bash
# The budget gate: compile the model, bench it when asked, check its figures against the baseline
# and limits. Exit 1 when a figure grew past them (the table names it), 2 on bad input.
# action.yml runs it with the AIOTC_* variables; tests/test_ci_gate.py runs it locally.
set -euo pipefail
aiotc=("${AIOTC_PYTHON:-python3}" -m aiotc)
out=${AIOTC_OUT:-aiotc-out}
read -ra compile_args <<<"${AIOTC_COMPILE_ARGS:-}"
"${aiotc[@]}" compile "$AIOTC_MODEL" --board "$AIOTC_BOARD" --out "$out" --force --quiet "${compile_args[@]}"
if [ "${AIOTC_BENCH:-false}" = true ]; then
    "${aiotc[@]}" bench "$out" --board "$AIOTC_BOARD"
fi
check=(check "$out" --tolerance "${AIOTC_TOLERANCE:-0%}" --write-baseline "$out.baseline.json")
if [ -n "${AIOTC_BASELINE:-}" ]; then check+=(--baseline "$AIOTC_BASELINE"); fi
if [ -n "${AIOTC_MAX_ARENA:-}" ]; then check+=(--max-arena "$AIOTC_MAX_ARENA"); fi
if [ -n "${AIOTC_MAX_FLASH:-}" ]; then check+=(--max-flash "$AIOTC_MAX_FLASH"); fi
if [ -n "${AIOTC_MAX_INSTRUCTIONS:-}" ]; then check+=(--max-instructions "$AIOTC_MAX_INSTRUCTIONS"); fi
"${aiotc[@]}" "${check[@]}"
