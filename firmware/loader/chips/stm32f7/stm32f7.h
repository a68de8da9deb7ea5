/* STM32F74x/75x register definitions used by the loader, written from the reference manual
 * RM0385 rev 8 (section numbers in the comments) and the Cortex-M7 generic user guide (ARM DUI 0646).
 * Only what the loader touches is defined. */
#ifndef STM32F7_H
#define STM32F7_H
#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define REG16(a) (*(volatile uint16_t *)(uintptr_t)(a))
#define REG8(a) (*(volatile uint8_t *)(uintptr_t)(a))

/* ---- Cortex-M7 system control space (ARM DUI 0646 §4) ---- */
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n)) /* interrupt clear-enable, 8 words on the F7 */
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n)) /* interrupt clear-pending */
#define SYST_CSR REG32(0xE000E010u)                 /* SysTick control and status */
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTCLR (1u << 25)
#define SCB_ICSR_PENDSVCLR (1u << 27)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_AIRCR_SYSRESET 0x05FA0004u /* VECTKEY | SYSRESETREQ (ARMv7-M B3.2.6) */
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_CCR_DC (1u << 16) /* data cache enable */
#define SCB_CCR_IC (1u << 17) /* instruction cache enable */
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_DCCISW REG32(0xE000EF74u) /* clean and invalidate D-cache line by set/way */
#define SCB_ICIALLU REG32(0xE000EF50u)

/* ---- RCC, RM0385 §5.3 (base 0x40023800) ---- */
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_CSSON (1u << 19)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CR_PLLI2SON (1u << 26)
#define RCC_CR_PLLSAION (1u << 28)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_CFGR_SW_MASK 3u
#define RCC_CFGR_SWS_SHIFT 2
#define RCC_CFGR_HPRE_SHIFT 4
#define RCC_CFGR_PPRE1_SHIFT 10
#define RCC_CFGR_PPRE2_SHIFT 13
#define RCC_CFGR_RTCPRE_SHIFT 16
#define RCC_CIR REG32(RCC_BASE + 0x0Cu)
#define RCC_AHB1RSTR REG32(RCC_BASE + 0x10u)
#define RCC_AHB2RSTR REG32(RCC_BASE + 0x14u)
#define RCC_AHB3RSTR REG32(RCC_BASE + 0x18u)
#define RCC_APB1RSTR REG32(RCC_BASE + 0x20u)
#define RCC_APB2RSTR REG32(RCC_BASE + 0x24u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_AHB2ENR REG32(RCC_BASE + 0x34u)
#define RCC_AHB3ENR REG32(RCC_BASE + 0x38u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_CSR REG32(RCC_BASE + 0x74u)
#define RCC_DCKCFGR2 REG32(RCC_BASE + 0x90u)
#define RCC_DCKCFGR2_CK48MSEL (1u << 27) /* 0: 48 MHz from PLLQ (RM0385 §5.3.26) */
#define RCC_AHB2_OTGFS (1u << 7)
#define RCC_AHB3_QSPI (1u << 1)
#define RCC_APB1_TIM2 (1u << 0)
#define RCC_APB2_TIM11 (1u << 18)

/* ---- FLASH interface, RM0385 §3.7 (base 0x40023C00) ---- */
#define FLASH_ACR REG32(0x40023C00u)
#define FLASH_KEYR REG32(0x40023C04u)
#define FLASH_SR REG32(0x40023C0Cu)
#define FLASH_CR REG32(0x40023C10u)
#define FLASH_OPTCR REG32(0x40023C14u)
#define FLASH_OPTCR_IWDG_SW (1u << 5) /* 0: hardware watchdog (IWDG starts at reset) */
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_ERSERR (1u << 7)
#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERRORS (FLASH_SR_OPERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_PGPERR | FLASH_SR_ERSERR)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_MER (1u << 2)
#define FLASH_CR_SNB_SHIFT 3
#define FLASH_CR_PSIZE_X32 (2u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

/* ---- Device electronic signature, RM0385 §41 ---- */
#define UID_BASE 0x1FF0F420u
#define FLASH_SIZE_KB REG16(0x1FF0F442u)
#define DBGMCU_IDCODE REG32(0xE0042000u)

/* ---- GPIO, RM0385 §6.4 ---- */
#define GPIO_BASE(port) (0x40020000u + 0x400u * (uint32_t)(port)) /* port 0 = A … 8 = I */
#define GPIO_MODER(p) REG32(GPIO_BASE(p) + 0x00u)
#define GPIO_OTYPER(p) REG32(GPIO_BASE(p) + 0x04u)
#define GPIO_OSPEEDR(p) REG32(GPIO_BASE(p) + 0x08u)
#define GPIO_PUPDR(p) REG32(GPIO_BASE(p) + 0x0Cu)
#define GPIO_BSRR(p) REG32(GPIO_BASE(p) + 0x18u)
#define GPIO_AFRL(p) REG32(GPIO_BASE(p) + 0x20u)
#define GPIO_AFRH(p) REG32(GPIO_BASE(p) + 0x24u)
#define PORT_A 0
#define PORT_B 1
#define PORT_D 3
#define PORT_E 4
#define PORT_I 8

/* ---- IWDG, RM0385 "Independent watchdog" chapter: KR 0xAAAA reloads the counter ---- */
#define IWDG_KR REG32(0x40003000u)
#define IWDG_KEY_REFRESH 0xAAAAu

/* ---- General-purpose timers, RM0385 §18 (TIM2..5) and §19 (TIM9..14) ---- */
#define TIM2_BASE 0x40000000u
#define TIM11_BASE 0x40014800u
#define TIM_CR1(b) REG32((b) + 0x00u)
#define TIM_SR(b) REG32((b) + 0x10u)
#define TIM_EGR(b) REG32((b) + 0x14u)
#define TIM_CCMR1(b) REG32((b) + 0x18u)
#define TIM_CCER(b) REG32((b) + 0x20u)
#define TIM_CNT(b) REG32((b) + 0x24u)
#define TIM_PSC(b) REG32((b) + 0x28u)
#define TIM_ARR(b) REG32((b) + 0x2Cu)
#define TIM_CCR1(b) REG32((b) + 0x34u)
#define TIM11_OR REG32(TIM11_BASE + 0x50u) /* TI1_RMP bits 1:0 (RM0385 §19.5.12 TIM11_OR) */
#define TIM11_OR_TI1_HSE_RTC 2u             /* 10: TIM11 CH1 input = HSE_RTC (HSE / RCC_CFGR.RTCPRE) */
#define TIM_SR_CC1IF (1u << 1)
#define TIM_SR_CC1OF (1u << 9)

/* ---- USB OTG FS (Synopsys DWC2), RM0385 §32.15 (base 0x50000000) ---- */
#define OTG_BASE 0x50000000u
#define OTG_GOTGCTL REG32(OTG_BASE + 0x000u)
#define OTG_GOTGCTL_BVALOEN (1u << 6)
#define OTG_GOTGCTL_BVALOVAL (1u << 7)
#define OTG_GAHBCFG REG32(OTG_BASE + 0x008u)
#define OTG_GUSBCFG REG32(OTG_BASE + 0x00Cu)
#define OTG_GUSBCFG_TRDT_SHIFT 10
#define OTG_GUSBCFG_FDMOD (1u << 30)
#define OTG_GUSBCFG_FHMOD (1u << 29)
#define OTG_GRSTCTL REG32(OTG_BASE + 0x010u)
#define OTG_GRSTCTL_CSRST (1u << 0)
#define OTG_GRSTCTL_RXFFLSH (1u << 4)
#define OTG_GRSTCTL_TXFFLSH (1u << 5)
#define OTG_GRSTCTL_TXFNUM_ALL (0x10u << 6)
#define OTG_GRSTCTL_AHBIDL (1u << 31)
#define OTG_GINTSTS REG32(OTG_BASE + 0x014u)
#define OTG_GINTSTS_RXFLVL (1u << 4)
#define OTG_GINTSTS_USBRST (1u << 12)
#define OTG_GINTSTS_ENUMDNE (1u << 13)
#define OTG_GINTMSK REG32(OTG_BASE + 0x018u)
#define OTG_GRXSTSP REG32(OTG_BASE + 0x020u)
#define OTG_GRXFSIZ REG32(OTG_BASE + 0x024u)
#define OTG_DIEPTXF0 REG32(OTG_BASE + 0x028u)
#define OTG_GCCFG REG32(OTG_BASE + 0x038u)
#define OTG_GCCFG_PWRDWN (1u << 16)
#define OTG_GCCFG_VBDEN (1u << 21)
#define OTG_DCFG REG32(OTG_BASE + 0x800u)
#define OTG_DCFG_DSPD_FS 3u
#define OTG_DCFG_DAD_SHIFT 4
#define OTG_DCFG_DAD_MASK (0x7Fu << 4)
#define OTG_DCTL REG32(OTG_BASE + 0x804u)
#define OTG_DCTL_SDIS (1u << 1)
#define OTG_DCTL_CGINAK (1u << 8)
#define OTG_DIEPMSK REG32(OTG_BASE + 0x810u)
#define OTG_DOEPMSK REG32(OTG_BASE + 0x814u)
#define OTG_DAINTMSK REG32(OTG_BASE + 0x81Cu)
#define OTG_DIEPCTL0 REG32(OTG_BASE + 0x900u)
#define OTG_DIEPINT0 REG32(OTG_BASE + 0x908u)
#define OTG_DIEPTSIZ0 REG32(OTG_BASE + 0x910u)
#define OTG_DOEPCTL0 REG32(OTG_BASE + 0xB00u)
#define OTG_DOEPINT0 REG32(OTG_BASE + 0xB08u)
#define OTG_DOEPTSIZ0 REG32(OTG_BASE + 0xB10u)
#define OTG_PCGCCTL REG32(OTG_BASE + 0xE00u)
#define OTG_FIFO0 REG32(OTG_BASE + 0x1000u)
#define OTG_EPCTL_STALL (1u << 21)
#define OTG_EPCTL_CNAK (1u << 26)
#define OTG_EPCTL_SNAK (1u << 27)
#define OTG_EPCTL_EPDIS (1u << 30)
#define OTG_EPCTL_EPENA (1u << 31)
#define OTG_EPINT_XFRC (1u << 0)
#define OTG_DOEPINT_STUP (1u << 3)
#define OTG_DOEPTSIZ0_STUPCNT3 (3u << 29)
#define OTG_DOEPTSIZ0_PKTCNT1 (1u << 19)
#define OTG_DIEPTSIZ0_PKTCNT1 (1u << 19)
#define OTG_RXSTS_BCNT(s) (((s) >> 4) & 0x7FFu)
#define OTG_RXSTS_PKTSTS(s) (((s) >> 17) & 0xFu)
#define OTG_PKTSTS_OUT_DATA 2u
#define OTG_PKTSTS_SETUP_DATA 6u

/* ---- QUADSPI, RM0385 §13.5 (registers 0xA0001000, memory-mapped window 0x90000000) ---- */
#define QSPI_BASE 0xA0001000u
#define QSPI_CR REG32(QSPI_BASE + 0x00u)
#define QSPI_DCR REG32(QSPI_BASE + 0x04u)
#define QSPI_SR REG32(QSPI_BASE + 0x08u)
#define QSPI_FCR REG32(QSPI_BASE + 0x0Cu)
#define QSPI_DLR REG32(QSPI_BASE + 0x10u)
#define QSPI_CCR REG32(QSPI_BASE + 0x14u)
#define QSPI_AR REG32(QSPI_BASE + 0x18u)
#define QSPI_DR REG32(QSPI_BASE + 0x20u)
#define QSPI_DR8 REG8(QSPI_BASE + 0x20u)
#define QSPI_CR_EN (1u << 0)
#define QSPI_CR_ABORT (1u << 1)
#define QSPI_CR_PRESCALER_SHIFT 24
#define QSPI_SR_TEF (1u << 0)
#define QSPI_SR_TCF (1u << 1)
#define QSPI_SR_FTF (1u << 2)
#define QSPI_SR_BUSY (1u << 5)
#define QSPI_SR_FLEVEL(s) (((s) >> 8) & 0x3Fu)
#define QSPI_FCR_CTCF (1u << 1)
#define QSPI_FCR_CTEF (1u << 0)
#define QSPI_CCR_FMODE_WRITE (0u << 26)
#define QSPI_CCR_FMODE_READ (1u << 26)
#define QSPI_CCR_FMODE_MMAP (3u << 26)
#define QSPI_CCR_DMODE_1 (1u << 24)
#define QSPI_CCR_DCYC_SHIFT 18
#define QSPI_CCR_ADSIZE_24 (2u << 12)
#define QSPI_CCR_ADMODE_1 (1u << 10)
#define QSPI_CCR_IMODE_1 (1u << 8)
#define QSPI_MMAP_BASE 0x90000000u

/* ---- PWR, RM0385 §4.4: not touched (the loader runs at 96 MHz, within VOS scale 1 without over-drive). */

static inline void iwdg_refresh(void) { IWDG_KR = IWDG_KEY_REFRESH; }
static inline void dsb(void) { __asm volatile("dsb 0xF" ::: "memory"); }
static inline void isb(void) { __asm volatile("isb 0xF" ::: "memory"); }

#endif
