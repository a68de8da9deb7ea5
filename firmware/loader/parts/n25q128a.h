#ifndef N25Q128A_H
#define N25Q128A_H
#include "../core/loader.h"
#include "../chips/stm32f7/qspi.h"
/* The board names how the part is wired (boards/<board>.c). */
extern const struct qspi_config board_qspi;
extern const struct memory n25q128a;
#endif
