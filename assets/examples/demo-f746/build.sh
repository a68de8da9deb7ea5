#!/bin/sh
# Builds demo-f746.elf from demo.s and demo.ld with GNU binutils for ARM (Debian: binutils-arm-none-eabi).
# No C compiler is needed: the program is a few lines of Thumb-2 assembly.
set -eu
cd "$(dirname "$0")"
arm-none-eabi-as -mcpu=cortex-m7 -mthumb -o demo.o demo.s
arm-none-eabi-ld -T demo.ld --no-warn-rwx-segments -o demo-f746.elf demo.o
rm -f demo.o
arm-none-eabi-size -A demo-f746.elf
