/*
 * test_vmx_devices.c — the UART and PV-port state machines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guest_abi.h"
#include "pvport.h"
#include "uart.h"

static void put(struct uart_state *s, const char *str, int *lines)
{
	for (; *str; str++)
		*lines += uart_write(s, UART_RBR_THR, (uint8_t)*str);
}

static void test_uart_lines(void **state)
{
	struct uart_state s;
	char buf[UART_LINE_MAX];
	int lines = 0;
	unsigned int n;

	(void)state;
	uart_init(&s);
	assert_int_equal(uart_read(&s, UART_LSR) & 0x60, 0x60);
	put(&s, "hb seq=1\r", &lines);
	assert_int_equal(lines, 0);
	put(&s, "\n", &lines);
	assert_int_equal(lines, 1);
	n = uart_take_line(&s, buf, sizeof(buf));
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "hb seq=1\n", 9);
	assert_int_equal(s.line_len, 0);
	/* a line without newline is cut at UART_LINE_MAX */
	lines = 0;
	for (int i = 0; i < UART_LINE_MAX; i++)
		lines += uart_write(&s, UART_RBR_THR, 'x');
	assert_int_equal(lines, 1);
	assert_int_equal(uart_take_line(&s, buf, sizeof(buf)), UART_LINE_MAX);
}

static void test_uart_registers(void **state)
{
	struct uart_state s;

	(void)state;
	uart_init(&s);
	/* DLAB: divisor latch instead of THR/IER */
	uart_write(&s, UART_LCR, 0x83);
	uart_write(&s, UART_RBR_THR, 1);
	uart_write(&s, UART_IER, 0);
	assert_int_equal(uart_read(&s, UART_RBR_THR), 1);
	assert_int_equal(s.line_len, 0);
	uart_write(&s, UART_LCR, 0x03);
	assert_int_equal(uart_read(&s, UART_LCR), 0x03);
	uart_write(&s, UART_SCR, 0x5a);
	assert_int_equal(uart_read(&s, UART_SCR), 0x5a);
	uart_write(&s, UART_IIR_FCR, 0x07);
	assert_int_equal(uart_read(&s, UART_IIR_FCR), 0xc1);
	assert_int_equal(uart_read(&s, UART_MSR), UART_MSR_DEFAULT);
	uart_write(&s, UART_MCR, UART_MCR_LOOP);
	uart_write(&s, UART_RBR_THR, 'x'); /* loopback: not output */
	assert_int_equal(s.line_len, 0);
	assert_int_equal(uart_read(&s, 9), 0xff);
}

static void test_uart_irq(void **state)
{
	struct uart_state s;
	int lines = 0;

	(void)state;
	uart_init(&s);
	put(&s, "a", &lines);
	assert_int_equal(uart_irq_level(&s), 0); /* IER off: no IRQ */
	assert_int_equal(uart_read(&s, UART_IIR_FCR) & 0x0f, UART_IIR_NO_INT);
	uart_write(&s, UART_IER, UART_IER_THRI);
	assert_int_equal(uart_irq_level(&s), 1);
	assert_int_equal(uart_read(&s, UART_IIR_FCR) & 0x0f, UART_IIR_THRI);
	assert_int_equal(uart_irq_level(&s), 0); /* IIR read clears */
	put(&s, "b", &lines);
	assert_int_equal(uart_irq_level(&s), 1);
	uart_write(&s, UART_IER, 0);
	assert_int_equal(uart_irq_level(&s), 0);
}

static enum pvport_action io(struct pvport_state *s, uint16_t port,
			     int is_write, unsigned int size, uint32_t *val,
			     uint32_t *status)
{
	const struct pvport_info info = {.version = "1.0.0.0100",
					 .ncpus = 2, .tsc_khz = 2500000};
	uint8_t data[4];
	enum pvport_action a;

	memcpy(data, val, 4);
	a = pvport_io(s, &info, port, is_write, size, data, status);
	*val = 0;
	memcpy(val, data, size);
	return a;
}

static void test_pvport(void **state)
{
	struct pvport_state s = {0};
	char got[32];
	uint32_t v = 0, st = 0;
	int i;

	(void)state;
	for (i = 0; i < 31; i++) {
		io(&s, SEAM_PORT_VERSION, 0, 1, &v, &st);
		got[i] = (char)v;
		if (!v)
			break;
	}
	assert_string_equal(got, "1.0.0.0100");
	io(&s, SEAM_PORT_VERSION, 0, 1, &v, &st);
	assert_int_equal(v, 0); /* stays at 0 */
	v = 0;
	io(&s, SEAM_PORT_VERSION, 1, 1, &v, &st); /* rewind */
	io(&s, SEAM_PORT_VERSION, 0, 1, &v, &st);
	assert_int_equal(v, '1');
	io(&s, SEAM_PORT_NCPUS, 0, 1, &v, &st);
	assert_int_equal(v, 2);
	io(&s, SEAM_PORT_TSC_KHZ, 0, 4, &v, &st);
	assert_int_equal(v, 2500000);
	io(&s, 0x0E0A, 0, 1, &v, &st);
	assert_int_equal(v, 0xff);
	v = 3;
	assert_int_equal(io(&s, SEAM_PORT_EXIT, 1, 4, &v, &st),
			 PVPORT_SHUTDOWN);
	assert_int_equal(st, 3);
	v = SEAM_I8042_RESET;
	assert_int_equal(io(&s, SEAM_I8042_PORT, 1, 1, &v, &st),
			 PVPORT_RESET);
	v = 0x10;
	assert_int_equal(io(&s, SEAM_I8042_PORT, 1, 1, &v, &st), PVPORT_NONE);
	assert_int_equal(io(&s, 0x80, 1, 1, &v, &st), PVPORT_NONE);
	assert_int_equal(io(&s, 0x1234, 0, 2, &v, &st), PVPORT_UNHANDLED);
}

static void test_pvport_version_across_fsr(void **state)
{
	const struct pvport_info old = {.version = "1.0.0.0100"};
	const struct pvport_info new = {.version = "1.0.0.0"};
	struct pvport_state s = {0};
	char got[32] = {0};
	uint8_t d[4] = {0};
	uint32_t st;
	int i = 0;

	(void)state;
	pvport_io(&s, &old, SEAM_PORT_VERSION, 1, 1, d, &st); /* rewind */
	for (; i < 8; i++) {
		pvport_io(&s, &old, SEAM_PORT_VERSION, 0, 1, d, &st);
		got[i] = (char)d[0];
	}
	pvport_restored(&s); /* FSR in the middle of the string */
	do {
		pvport_io(&s, &new, SEAM_PORT_VERSION, 0, 1, d, &st);
		got[i++] = (char)d[0];
	} while (d[0]);
	assert_string_equal(got, "1.0.0.0100");
	/* the next rewind reads the new binary's version */
	pvport_io(&s, &new, SEAM_PORT_VERSION, 1, 1, d, &st);
	for (i = 0; i < 31; i++) {
		pvport_io(&s, &new, SEAM_PORT_VERSION, 0, 1, d, &st);
		got[i] = (char)d[0];
		if (!d[0])
			break;
	}
	assert_string_equal(got, "1.0.0.0");
	/* restored between two reads: the new version from the start */
	s.version_idx = 0;
	snprintf(s.version, sizeof(s.version), "%s", "1.0.0.0100");
	pvport_restored(&s);
	pvport_io(&s, &new, SEAM_PORT_VERSION, 0, 1, d, &st);
	assert_int_equal(d[0], '1');
	assert_string_equal(s.version, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uart_lines),
		cmocka_unit_test(test_uart_registers),
		cmocka_unit_test(test_uart_irq),
		cmocka_unit_test(test_pvport),
		cmocka_unit_test(test_pvport_version_across_fsr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
