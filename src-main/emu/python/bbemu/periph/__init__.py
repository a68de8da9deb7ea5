"""Peripheral models, one module per block of the reference manual (RM0385 for the STM32F7)."""
