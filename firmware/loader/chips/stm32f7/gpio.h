/* GPIO helpers (RM0385 §6.4): mode, speed, pull, alternate function of one pin. */
#ifndef STM32F7_GPIO_H
#define STM32F7_GPIO_H
#include "stm32f7.h"

struct pin {
  uint8_t port, pin, af; /* af 0xFF: push-pull output */
  uint8_t pull;          /* 0 none, 1 pull-up */
};

static inline void gpio_setup(const struct pin *p) {
  RCC_AHB1ENR |= 1u << p->port;
  (void)RCC_AHB1ENR;
  uint32_t s2 = 2u * p->pin;
  GPIO_OSPEEDR(p->port) = (GPIO_OSPEEDR(p->port) & ~(3u << s2)) | ((p->af == 0xFF ? 0u : 3u) << s2);
  GPIO_OTYPER(p->port) &= ~(1u << p->pin);
  GPIO_PUPDR(p->port) = (GPIO_PUPDR(p->port) & ~(3u << s2)) | ((uint32_t)p->pull << s2);
  if (p->af != 0xFF) {
    volatile uint32_t *afr = p->pin < 8 ? &GPIO_AFRL(p->port) : &GPIO_AFRH(p->port);
    uint32_t s4 = 4u * (p->pin & 7u);
    *afr = (*afr & ~(0xFu << s4)) | ((uint32_t)p->af << s4);
  }
  GPIO_MODER(p->port) = (GPIO_MODER(p->port) & ~(3u << s2)) | ((p->af == 0xFF ? 1u : 2u) << s2);
}

static inline void gpio_write(const struct pin *p, int on) {
  GPIO_BSRR(p->port) = on ? (1u << p->pin) : (1u << (p->pin + 16));
}
#endif
