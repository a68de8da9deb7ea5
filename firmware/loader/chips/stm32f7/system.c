/* STM32F7 entry hygiene and clocks (RM0385 §5 RCC, §3 flash latency; ARM DUI 0646 for the SCS).
 * The ROM's state at the jump is unknown (AN2606 §4.1, AN3156 §5.5): assume nothing, record it,
 * rebuild it. Polling only: no interrupt and no exception is used in normal operation. */
#include "system.h"
#include "stm32f7.h"
#include "../../core/loader.h"

extern const uint32_t vector_table[];

/* Written by the reset handler before anything else (IPSR, CONTROL); kept out of .bss, which is
 * cleared after it is written. */
struct entry_state entry __attribute__((section(".data")));

#define HSI_HZ 16000000u
static uint32_t sysclk_hz = HSI_HZ;

uint32_t system_sysclk_hz(void) { return sysclk_hz; }

/* ---- time base: TIM2, 32-bit, counting µs; only its counter is read (no interrupt) ---- */
static void tim2_start(uint32_t timer_clock_hz) {
  RCC_APB1ENR |= RCC_APB1_TIM2;
  (void)RCC_APB1ENR;
  uint32_t now = TIM_CNT(TIM2_BASE);
  TIM_CR1(TIM2_BASE) = 0;
  TIM_PSC(TIM2_BASE) = timer_clock_hz / 1000000u - 1u;
  TIM_ARR(TIM2_BASE) = 0xFFFFFFFFu;
  TIM_EGR(TIM2_BASE) = 1u; /* UG: load the prescaler now (RM0385 §18.4.6) */
  TIM_CNT(TIM2_BASE) = now;
  TIM_CR1(TIM2_BASE) = 1u; /* CEN */
}

uint32_t time_us(void) { return TIM_CNT(TIM2_BASE); }

/* A few hundred cycles between two polls of a slow condition: the same result on the chip, and an
 * emulator (where every register access is a callback) does a tenth of the work. */
static void pause(void) {
  for (int i = 0; i < 64; i++) __asm volatile("nop");
}

void delay_ms(uint32_t ms) {
  uint32_t t0 = time_us();
  while (time_us() - t0 < ms * 1000u) {
    iwdg_refresh();
    pause();
  }
}

/* Waits until (reg & mask) == want or timeout_us passes; 1 on success. Refreshes the IWDG. */
static int wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want, uint32_t timeout_us) {
  uint32_t t0 = time_us();
  for (;;) {
    iwdg_refresh();
    if ((*reg & mask) == want) return 1;
    if (time_us() - t0 > timeout_us) return 0;
    pause();
  }
}

void system_entry(void) {
  /* Record first (IPSR and CONTROL were stored by the reset handler). */
  entry.vtor = SCB_VTOR;
  entry.rcc_cr = RCC_CR;
  entry.rcc_pllcfgr = RCC_PLLCFGR;
  entry.rcc_cfgr = RCC_CFGR;
  entry.rcc_csr = RCC_CSR;
  entry.ccr = SCB_CCR;
  entry.flash_optcr = FLASH_OPTCR;
  /* The IWDG has no "running" bit: it runs when the hardware-watchdog option is set (IWDG_SW = 0),
   * or after a software start, which forces the LSI on (LSIRDY set although LSION is clear). */
  entry.iwdg = ((entry.flash_optcr & FLASH_OPTCR_IWDG_SW) == 0) || ((entry.rcc_csr & 3u) == 2u);
  iwdg_refresh();

  /* Interrupts stay masked (cpsid i in the reset handler); clear every enable and pending bit. */
  for (unsigned i = 0; i < 8; i++) {
    NVIC_ICER(i) = 0xFFFFFFFFu;
    NVIC_ICPR(i) = 0xFFFFFFFFu;
  }
  SYST_CSR = 0;
  SCB_ICSR = SCB_ICSR_PENDSTCLR | SCB_ICSR_PENDSVCLR;
  SCB_VTOR = (uint32_t)(uintptr_t)vector_table;
  dsb();
  isb();

  /* D-cache on at entry: turn it off, then clean and invalidate every line by set/way, so nothing the
   * ROM wrote stays only in the cache (ARM DUI 0646 §4.8). */
  if (entry.ccr & SCB_CCR_DC) {
    SCB_CSSELR = 0; /* level 1 data cache */
    dsb();
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u, ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    uint32_t way_shift = ways > 1 ? (uint32_t)__builtin_clz(ways - 1u) : 0u;
    uint32_t line_shift = (ccsidr & 7u) + 4u;
    SCB_CCR &= ~SCB_CCR_DC;
    dsb();
    for (uint32_t w = 0; w < ways; w++)
      for (uint32_t s = 0; s < sets; s++) SCB_DCCISW = (w << way_shift) | (s << line_shift);
    dsb();
    isb();
  }
  if (entry.ccr & SCB_CCR_IC) {
    SCB_ICIALLU = 0; /* the image was written as data: drop stale instruction lines */
    dsb();
    isb();
  }
}

/* HSE measured against HSI like the ROM does (AN2606): TIM11 channel 1 captures HSE_RTC = HSE /
 * RTCPRE (RCC_CFGR.RTCPRE, RM0385 §5.3.3; TIM11_OR.TI1_RMP = 10), the timer counting HSI (16 MHz,
 * APB2 prescaler 1). The input prescaler takes every 8th edge. Returns Hz, 0 when nothing is captured. */
#define RTCPRE 31u
#define CAPTURES 100u
static uint32_t measure_hse(void) {
  RCC_CFGR = (RCC_CFGR & ~(0x1Fu << RCC_CFGR_RTCPRE_SHIFT)) | (RTCPRE << RCC_CFGR_RTCPRE_SHIFT);
  RCC_APB2ENR |= RCC_APB2_TIM11;
  (void)RCC_APB2ENR;
  TIM_CR1(TIM11_BASE) = 0;
  TIM_CCER(TIM11_BASE) = 0;
  TIM11_OR = TIM11_OR_TI1_HSE_RTC;
  TIM_CCMR1(TIM11_BASE) = 1u | (3u << 2); /* CC1S = 01: IC1 on TI1; IC1PSC = 11: every 8 events */
  TIM_PSC(TIM11_BASE) = 0;
  TIM_ARR(TIM11_BASE) = 0xFFFFu;
  TIM_EGR(TIM11_BASE) = 1u;
  TIM_CCER(TIM11_BASE) = 1u; /* CC1E */
  TIM_SR(TIM11_BASE) = 0;
  TIM_CR1(TIM11_BASE) = 1u;

  /* Sum CAPTURES intervals between consecutive captures. An overcapture (CC1OF: an edge came before
   * the previous capture was read) makes that interval unknown: it is dropped and counting resumes at
   * the next capture, so a late poll costs time, never accuracy. */
  uint32_t t0 = time_us(), last = 0, ticks = 0, n = 0;
  int have_last = 0;
  TIM_SR(TIM11_BASE) = 0;
  while (n < CAPTURES) {
    iwdg_refresh();
    if (time_us() - t0 > 50000u) {
      ticks = 0; /* no steady HSE_RTC edges: no usable HSE */
      break;
    }
    uint32_t sr = TIM_SR(TIM11_BASE);
    if (sr & TIM_SR_CC1OF) {
      TIM_SR(TIM11_BASE) = 0;
      have_last = 0;
      continue;
    }
    if (!(sr & TIM_SR_CC1IF)) continue;
    uint32_t c = TIM_CCR1(TIM11_BASE) & 0xFFFFu; /* reading CCR1 clears CC1IF */
    if (TIM_SR(TIM11_BASE) & TIM_SR_CC1OF) {   /* a newer edge overwrote it while we read */
      TIM_SR(TIM11_BASE) = 0;
      have_last = 0;
      continue;
    }
    if (have_last) {
      ticks += (c - last) & 0xFFFFu;
      n++;
    }
    have_last = 1;
    last = c;
  }
  uint32_t result = ticks ? (uint32_t)(((uint64_t)RTCPRE * 8u * CAPTURES * HSI_HZ) / ticks) : 0u;
  TIM_CR1(TIM11_BASE) = 0;
  TIM_CCER(TIM11_BASE) = 0;
  TIM11_OR = 0;
  RCC_APB2ENR &= ~RCC_APB2_TIM11;
  RCC_CFGR &= ~(0x1Fu << RCC_CFGR_RTCPRE_SHIFT);
  return result;
}

/* HSE on, crystal first, then bypass (an oscillator driving OSC_IN); 100 ms each. */
static int hse_start(void) {
  for (int bypass = 0; bypass < 2; bypass++) {
    RCC_CR &= ~RCC_CR_HSEON;
    wait_bits(&RCC_CR, RCC_CR_HSERDY, 0, 10000u);
    if (bypass) RCC_CR |= RCC_CR_HSEBYP; else RCC_CR &= ~RCC_CR_HSEBYP;
    RCC_CR |= RCC_CR_HSEON;
    if (wait_bits(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY, 100000u)) return 1;
  }
  RCC_CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
  return 0;
}

/* Back to HSI, PLL off (RM0385 §5.2: the PLL can only be configured while off). */
static void clocks_to_hsi(void) {
  RCC_CR |= RCC_CR_HSION;
  while (!(RCC_CR & RCC_CR_HSIRDY)) iwdg_refresh();
  RCC_CFGR &= ~RCC_CFGR_SW_MASK;
  while ((RCC_CFGR >> RCC_CFGR_SWS_SHIFT) & 3u) iwdg_refresh();
  RCC_CFGR = 0; /* AHB, APB1, APB2 prescalers 1, RTCPRE 0, MCO off */
  RCC_CR &= ~(RCC_CR_PLLON | RCC_CR_CSSON);
  while (RCC_CR & RCC_CR_PLLRDY) iwdg_refresh();
  RCC_CIR = 0x00FF0000u; /* clock interrupts disabled, their flags cleared (RM0385 §5.3.4) */
  sysclk_hz = HSI_HZ;
}

uint32_t system_clocks(void) {
  clocks_to_hsi();
  tim2_start(HSI_HZ);

  uint32_t hse = 0;
  if (hse_start()) hse = measure_hse();
  entry.hse_hz = hse;
  if (hse == 0) return 0;

  /* The HSE must be a whole number of MHz within 2 % of it (HSI is ±1 %), 4..26 MHz (datasheet). */
  uint32_t mhz = (hse + 500000u) / 1000000u;
  uint32_t off = hse > mhz * 1000000u ? hse - mhz * 1000000u : mhz * 1000000u - hse;
  if (mhz < 4 || mhz > 26 || off > mhz * 20000u) return 0;

  /* PLL: VCO input 1 or 2 MHz, VCO 192 MHz; SYSCLK = VCO / 2 = 96 MHz (no over-drive needed),
   * 48 MHz clock = VCO / 4 for OTG FS (RM0385 §5.3.2, §5.3.26 CK48MSEL = 0). */
  uint32_t m = (mhz & 1u) ? mhz : mhz / 2u;
  uint32_t n = (mhz & 1u) ? 192u : 96u;
  RCC_PLLCFGR = 0x20000000u /* reserved bit at its reset value */ | m | (n << 6) | (0u << 16) |
                RCC_PLLCFGR_PLLSRC_HSE | (4u << 24);
  RCC_DCKCFGR2 &= ~RCC_DCKCFGR2_CK48MSEL;
  /* 96 MHz at 2.7–3.6 V needs 3 wait states (RM0385 §3.3.2 table 7). */
  FLASH_ACR = (FLASH_ACR & ~0xFu) | 3u;
  if ((FLASH_ACR & 0xFu) != 3u) return 0;
  RCC_CFGR = (0u << RCC_CFGR_HPRE_SHIFT) | (4u << RCC_CFGR_PPRE1_SHIFT) /* APB1 /2 = 48 MHz */ |
             (0u << RCC_CFGR_PPRE2_SHIFT);
  RCC_CR |= RCC_CR_PLLON;
  if (!wait_bits(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY, 10000u)) return 0xFFFFFFFFu;
  RCC_CFGR |= 2u; /* SW = PLL */
  if (!wait_bits(&RCC_CFGR, 3u << RCC_CFGR_SWS_SHIFT, 2u << RCC_CFGR_SWS_SHIFT, 10000u)) return 0xFFFFFFFFu;
  sysclk_hz = 96000000u;
  tim2_start(96000000u); /* APB1 timers run at 2 × PCLK1 when the APB1 prescaler is not 1 */
  return hse;
}

void system_uid(uint32_t w[3]) {
  w[0] = REG32(UID_BASE);
  w[1] = REG32(UID_BASE + 4u);
  w[2] = REG32(UID_BASE + 8u);
}

void system_reset(void) {
  dsb();
  SCB_AIRCR = SCB_AIRCR_SYSRESET;
  dsb();
  for (;;) iwdg_refresh();
}

/* Undo what the loader set up, then start the application like the ROM does (AN3156 §5.5):
 * SP = word 0, PC = word 1, VTOR = the table. */
void system_leave(uint32_t vectors, int keep_qspi) {
  iwdg_refresh();
  RCC_AHB2RSTR |= RCC_AHB2_OTGFS;
  RCC_AHB2RSTR &= ~RCC_AHB2_OTGFS;
  RCC_AHB2ENR &= ~RCC_AHB2_OTGFS;
  if (!keep_qspi) {
    RCC_AHB3RSTR |= RCC_AHB3_QSPI;
    RCC_AHB3RSTR &= ~RCC_AHB3_QSPI;
    RCC_AHB3ENR &= ~RCC_AHB3_QSPI;
  }
  if (!(FLASH_CR & FLASH_CR_LOCK)) FLASH_CR = FLASH_CR_LOCK;
  TIM_CR1(TIM2_BASE) = 0;
  RCC_APB1RSTR |= RCC_APB1_TIM2;
  RCC_APB1RSTR &= ~RCC_APB1_TIM2;
  RCC_APB1ENR &= ~RCC_APB1_TIM2;
  clocks_to_hsi(); /* an application in QSPI keeps it memory-mapped, at the HSI clock */
  FLASH_ACR &= ~0xFu;
  uint32_t sp = REG32(vectors), pc = REG32(vectors + 4u);
  SCB_VTOR = vectors;
  dsb();
  isb();
  __asm volatile("msr msp, %0\n bx %1" ::"r"(sp), "r"(pc) : "memory");
  __builtin_unreachable();
}
