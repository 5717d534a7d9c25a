/*
 * uart.h — an 8250/16550 UART (the guest's console), as a pure state
 * machine over struct uart_state.
 *
 * The state struct is everything FSR saves for this device. The glue in
 * devices.c holds the lock, writes finished lines to the serial log and
 * drives the IRQ line from uart_irq_level().
 */
#ifndef SEAM_VMX_UART_H
#define SEAM_VMX_UART_H

#include <stdint.h>

#define UART_LINE_MAX 512

/* Register offsets from the base port. */
enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_FIFO 0xc0
#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MCR_LOOP 0x10
#define UART_MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

struct uart_state {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t thr_int; /* a THR-empty interrupt is pending */
	uint16_t line_len;
	char line[UART_LINE_MAX];
};

void uart_init(struct uart_state *s);
uint8_t uart_read(struct uart_state *s, unsigned int off);
/* Returns 1 when s->line holds a finished line for uart_take_line(). */
int uart_write(struct uart_state *s, unsigned int off, uint8_t v);
/* Copy out the buffered line (with its '\n' when it had one); empties it. */
unsigned int uart_take_line(struct uart_state *s, char *buf,
			    unsigned int cap);
int uart_irq_level(const struct uart_state *s);

#endif
