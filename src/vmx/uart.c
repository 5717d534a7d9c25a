/*
 * uart.c — see uart.h.
 *
 * Transmit is instantaneous: THR is always empty (LSR.THRE|TEMT), so a
 * polling guest never waits. Output is gathered per line, so the serial log
 * gets one write() per line and lines of several vCPUs do not interleave
 * byte by byte. '\r' is dropped. There is no input: RBR reads 0 and LSR.DR is
 * never set. Interrupts follow the 16550 rules the guest can observe: with
 * IER.THRI set, a THR-empty interrupt is pending after each write to THR (and
 * when THRI is enabled), and reading IIR while it is reported clears it.
 */
#include "uart.h"

#include <string.h>

void uart_init(struct uart_state *s)
{
	memset(s, 0, sizeof(*s));
	s->dll = 12; /* 9600 baud */
}

static uint8_t uart_iir(struct uart_state *s)
{
	uint8_t fifo = (s->fcr & 1) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_THRI) && s->thr_int) {
		s->thr_int = 0;
		return fifo | UART_IIR_THRI;
	}
	return fifo | UART_IIR_NO_INT;
}

uint8_t uart_read(struct uart_state *s, unsigned int off)
{
	int dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR:
		return dlab ? s->dll : 0;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		return uart_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_MSR:
		return (s->mcr & UART_MCR_LOOP) ? 0 : UART_MSR_DEFAULT;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

static int uart_put(struct uart_state *s, uint8_t c)
{
	if (c == '\r')
		return 0;
	s->line[s->line_len++] = (char)c;
	s->thr_int = 1;
	return c == '\n' || s->line_len >= UART_LINE_MAX;
}

int uart_write(struct uart_state *s, unsigned int off, uint8_t v)
{
	int dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR:
		if (dlab) {
			s->dll = v;
			return 0;
		}
		if (s->mcr & UART_MCR_LOOP)
			return 0;
		return uart_put(s, v);
	case UART_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
				s->thr_int = 1;
			s->ier = v & 0x0f;
		}
		return 0;
	case UART_IIR_FCR:
		s->fcr = v & 0xc9;
		return 0;
	case UART_LCR:
		s->lcr = v;
		return 0;
	case UART_MCR:
		s->mcr = v & 0x1f;
		return 0;
	case UART_SCR:
		s->scr = v;
		return 0;
	default:
		return 0;
	}
}

unsigned int uart_take_line(struct uart_state *s, char *buf, unsigned int cap)
{
	unsigned int n = s->line_len < cap ? s->line_len : cap;

	memcpy(buf, s->line, n);
	s->line_len = 0;
	return n;
}

int uart_irq_level(const struct uart_state *s)
{
	return (s->ier & UART_IER_THRI) && s->thr_int;
}
