/*
 * uart.c — see uart.h. Initialisation is the minimum that makes a real 8250
 * send 8N1 without interrupts: IER = 0, LCR = 8 bits, divisor 1 (115200),
 * FIFO on. The emulated UARTs ignore the divisor.
 */
#include "uart.h"

#include <stdarg.h>

#include "fmt.h"
#include "guest_abi.h"
#include "io.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_DLL 0
#define UART_DLM 1

static int con_lock;

void uart_init(void)
{
	outb(SEAM_UART_BASE + UART_IER, 0);
	outb(SEAM_UART_BASE + UART_LCR, 0x80); /* DLAB */
	outb(SEAM_UART_BASE + UART_DLL, 1);
	outb(SEAM_UART_BASE + UART_DLM, 0);
	outb(SEAM_UART_BASE + UART_LCR, 0x03); /* 8N1 */
	outb(SEAM_UART_BASE + UART_FCR, 0x07);
	outb(SEAM_UART_BASE + UART_MCR, 0x03); /* DTR, RTS; OUT2 off: no IRQ */
}

/*
 * One `rep outsb` per line: the emulated UARTs (seam-vmx's, QEMU's) take the
 * whole string in a single VM exit instead of one exit per byte, which is
 * what makes a 1 ms heartbeat cheap. A real 8250 would need LSR polling; no
 * guest of ours runs on one.
 */
void uart_write(const char *s, size_t len)
{
	__asm__ volatile("rep outsb"
			 : "+S"(s), "+c"(len)
			 : "d"((uint16_t)(SEAM_UART_BASE + UART_THR))
			 : "memory");
}

void con_printf(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vbuf(line, sizeof(line), fmt, ap);
	va_end(ap);
	while (__atomic_exchange_n(&con_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	uart_write(line, n);
	__atomic_store_n(&con_lock, 0, __ATOMIC_RELEASE);
}
