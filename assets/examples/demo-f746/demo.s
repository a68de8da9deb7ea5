@ BootBridge demo application for the STM32F746G-DISCO: blinks the green user LED (LD1, PI1) and
@ keeps a 480x272 RGB565 picture in the QSPI flash at 0x90000000 the way TouchGFX projects keep their
@ images ("ExtFlashSection"), so one file holds both internal-flash and external-flash content.
@ Register addresses: RM0385 (STM32F75xxx/74xxx reference manual) §5.3 RCC, §6.4 GPIO; UM1907 (board) for LD1.

    .syntax unified
    .cpu cortex-m7
    .thumb

    .equ RCC_AHB1ENR,   0x40023830      @ RM0385 §5.3.10, bit 8 = GPIOIEN
    .equ GPIOI_MODER,   0x40022000      @ RM0385 §6.4.1
    .equ GPIOI_ODR,     0x40022014      @ RM0385 §6.4.6

    .section .isr_vector, "a", %progbits
    .global vectors
vectors:
    .word   _estack                     @ initial SP, in SRAM
    .word   reset_handler               @ initial PC, Thumb address in flash
    .word   nmi_handler
    .word   hardfault_handler
    .rept   12                          @ MemManage … SysTick
    .word   default_handler
    .endr

    .text
    .thumb_func
    .global reset_handler
reset_handler:
    @ .data is stored in flash after the code and runs in SRAM: copy it, then clear .bss.
    ldr     r0, =_sidata
    ldr     r1, =_sdata
    ldr     r2, =_edata
copy_data:
    cmp     r1, r2
    ittt    lo
    ldrlo   r3, [r0], #4
    strlo   r3, [r1], #4
    blo     copy_data
    ldr     r1, =_sbss
    ldr     r2, =_ebss
    movs    r3, #0
clear_bss:
    cmp     r1, r2
    itt     lo
    strlo   r3, [r1], #4
    blo     clear_bss

    @ Clock GPIOI and make PI1 an output.
    ldr     r0, =RCC_AHB1ENR
    ldr     r1, [r0]
    orr     r1, r1, #(1 << 8)
    str     r1, [r0]
    ldr     r0, =GPIOI_MODER
    ldr     r1, [r0]
    bic     r1, r1, #(3 << 2)
    orr     r1, r1, #(1 << 2)
    str     r1, [r0]

    ldr     r4, =GPIOI_ODR
    ldr     r5, =blink_delay
    ldr     r6, =blink_count
blink:
    ldr     r1, [r4]
    eor     r1, r1, #(1 << 1)
    str     r1, [r4]
    ldr     r2, [r6]
    adds    r2, r2, #1
    str     r2, [r6]
    ldr     r0, [r5]
delay:
    subs    r0, r0, #1
    bne     delay
    b       blink

    .thumb_func
nmi_handler:
    b       nmi_handler
    .thumb_func
hardfault_handler:
    b       hardfault_handler
    .thumb_func
default_handler:
    b       default_handler

    .section .rodata
    .global build_tag
build_tag:
    .asciz  "BootBridge demo for STM32F746G-DISCO"

    .data
blink_delay:
    .word   4000000                     @ about 0.25 s per toggle at the 16 MHz HSI reset clock
version:
    .word   0x00010000

    .bss
blink_count:
    .space  4
framebuffer_lines:
    .space  1024

    @ A 480x272 RGB565 gradient (the board's LCD size), red across, green down, a blue checker.
    .section ExtFlashSection, "a", %progbits
    .global splash_image
splash_image:
    .set    y, 0
    .rept   272
    .set    x, 0
    .rept   480
    .hword  (((x * 31) / 479) << 11) | (((y * 63) / 271) << 5) | ((((x / 40) + (y / 34)) & 1) * 31)
    .set    x, x + 1
    .endr
    .set    y, y + 1
    .endr
