#!/usr/bin/env bash
# Install aiotc from this action's own checkout (the action and the compiler are one version),
# and arm-none-eabi-gcc (and QEMU for bench) when the board is a Cortex-M one.
set -euo pipefail
python3 -m pip install --quiet "$1"
packages=()
if [ "$AIOTC_BOARD" != host ]; then packages+=(gcc-arm-none-eabi); fi
if [ "$AIOTC_BENCH" = true ]; then packages+=(qemu-system-arm); fi
if [ ${#packages[@]} -gt 0 ]; then
    sudo apt-get update -qq
    sudo apt-get install -y -qq "${packages[@]}"
fi
