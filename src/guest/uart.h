/*
 * uart.h — the console: the 8250 UART at 0x3F8, output only.
 *
 * uart_write() is one loop of outb to THR with no LSR polling: seam-vmx and
 * QEMU take each byte at once, and every extra port access is a VM exit.
 * con_printf() formats a line and writes it under a spin lock so that lines
 * of two vCPUs never interleave; it is for user mode (the kernel's one
 * message, an exception, goes straight to uart_write()).
 */
#ifndef GUEST_UART_H
#define GUEST_UART_H

#include <stddef.h>

void uart_init(void);
void uart_write(const char *s, size_t len);
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
