/*
 * io.h — port I/O, the TSC and other one-instruction helpers.
 *
 * These are used in both privilege levels: the kernel runs with CPL 0, and
 * user mode runs with IOPL 3, so in/out work there too without a system call
 * (PLATFORM.md: guest kernel mode is emulated, user mode is native, so every
 * device access the workloads make is done straight from user mode).
 */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* n bytes from one port into buf: one `rep insb`, one exit to the VMM. */
static inline void insb(uint16_t port, void *buf, unsigned long n)
{
	__asm__ volatile("rep insb"
			 : "+D"(buf), "+c"(n)
			 : "d"(port)
			 : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

#endif
