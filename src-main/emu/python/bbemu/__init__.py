"""BootBridge's emulated Cortex-M board: runs a staged loader image's real Thumb-2 code on Unicorn
(Debian's python3-unicorn) behind peripheral models written from the reference manual."""
