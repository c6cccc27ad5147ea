#!/usr/bin/env bash
# Build the peer: TFLM + CMSIS-NN's library with TFLM's own Makefile (cortex_m_generic
# target, OPTIMIZED_KERNEL_DIR=cmsis_nn, the system's arm-none-eabi-gcc), then this
# folder's harness (main.cc, startup.c) with the same flags, for each core asked for.
#
#   ./build.sh [m4] [m55]        (default: both)
#
# The library takes ~20 minutes per core on 2 cores and is built only when
# $SRC/build/<core>/libtensorflow-microlite.a is missing (REBUILD=1 forces it); the
# harness takes seconds and is always rebuilt, into $SRC/build/<core>/bench/.
#
# Environment: SRC (default ~/.cache/tflm-peer: fetch_sources.sh filled it), BUILD_TYPE
# (TFLM's, default "default": error checks and the profiler hooks kept, as TFLM's own
# benchmarks build), JOBS (default 2).
#
# Flags are TFLM's: its Makefile compiles the framework with -Os, the kernels
# (tensorflow/lite/micro/kernels/**, incl. kernels/cmsis_nn) and CMSIS-NN with -O2,
# -fno-rtti -fno-exceptions -ffunction-sections -fdata-sections,
# -DTF_LITE_STATIC_MEMORY -DTF_LITE_DISABLE_X86_NEON -DCMSIS_NN, -funsigned-char;
# cortex-m4+fp: -mcpu=cortex-m4 -mfpu=auto(=fpv4-sp-d16) -mfloat-abi=hard;
# cortex-m55: -mcpu=cortex-m55 -mfpu=auto(=MVE+FP) -mfloat-abi=hard. CMSIS-NN picks
# its DSP (M4) or MVEI (M55) code paths from the compiler's __ARM_FEATURE_* macros.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${SRC:-${XDG_CACHE_HOME:-$HOME/.cache}/tflm-peer}
T=$SRC/tflite-micro
BUILD_TYPE=${BUILD_TYPE:-default}
JOBS=${JOBS:-2}
CORES=("$@")
[[ ${#CORES[@]} -gt 0 ]] || CORES=(m4 m55)

[[ -d $T/tensorflow/lite/micro/tools/make/downloads/cmsis_nn ]] || {
    echo "no TFLM sources in $T: run fetch_sources.sh first" >&2
    exit 1
}

for core in "${CORES[@]}"; do
    case $core in
    m4) arch=cortex-m4+fp ;;
    m55) arch=cortex-m55 ;;
    *)
        echo "unknown core $core (m4 or m55)" >&2
        exit 1
        ;;
    esac
    MAKE_ARGS=(-f tensorflow/lite/micro/tools/make/Makefile TARGET=cortex_m_generic TARGET_ARCH=$arch
        OPTIMIZED_KERNEL_DIR=cmsis_nn TOOLCHAIN=gcc TARGET_TOOLCHAIN_ROOT=/usr/bin/ BUILD_TYPE=$BUILD_TYPE)
    print() { (cd "$T" && make -s "${MAKE_ARGS[@]}" "print-$1" 2>/dev/null | sed -n "s/^$1=//p"); }
    out=$SRC/build/$core
    mkdir -p "$out/bench"
    cxxflags=$(print CXXFLAGS)
    if [[ ! -f $out/libtensorflow-microlite.a || ${REBUILD:-0} == 1 ]]; then
        echo "== building libtensorflow-microlite.a for $arch ($BUILD_TYPE)" >&2
        (cd "$T" && make "${MAKE_ARGS[@]}" -j"$JOBS" microlite >&2)
        cp "$T/$(print GENDIR)/lib/libtensorflow-microlite.a" "$out/"
        {
            echo "tflite-micro $(cat "$SRC/commits/tflite-micro" 2>/dev/null || echo '?')"
            echo "BUILD_TYPE=$BUILD_TYPE TARGET_ARCH=$arch"
            echo "CXXFLAGS=$cxxflags"
        } >"$out/build_info"
    fi
    # The harness: the kernels' -O2; -MD (dependency files) dropped.
    (cd "$T" && eval arm-none-eabi-g++ ${cxxflags//-MD/} -O2 $(print INCLUDES) -I"$HERE" \
        -c "$HERE/main.cc" -o "$out/bench/main.o")
    ccflags=$(print CCFLAGS)
    (cd "$T" && eval arm-none-eabi-gcc ${ccflags//-MD/} -O2 -Wall -Wextra -I"$HERE" \
        -c "$HERE/startup.c" -o "$out/bench/startup.o")
    # The CPU flags tflm.py assembles and links with.
    echo "$cxxflags" | grep -oE -- '-mcpu=[^ ]+|-mfpu=[^ ]+|-mfloat-abi=[^ ]+|-mthumb' | tr '\n' ' ' >"$out/bench/cpu_flags"
    echo "== $core: $out/bench (cpu flags: $(cat "$out/bench/cpu_flags"))" >&2
done
