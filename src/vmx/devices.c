/*
 * devices.c — port and MMIO exits: which device answers, under one lock.
 *
 * The devices themselves (uart.c, pvport.c) are pure state machines; this
 * file is their glue to KVM and the host: it takes the lock, feeds the
 * access to the device, writes each finished console line to the serial log
 * with one write(), raises or lowers the UART's IRQ line, and turns a
 * guest's shutdown or reset request into the end of the VM. Ports nobody
 * owns read as all ones and ignore writes (logged at debug level, the first
 * few and then one in 4096, so a guest cannot flood the log).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

#define DEV_LOG_FIRST 16
#define DEV_LOG_EVERY 4096

static void dev_write_line(struct vm *vm)
{
	char buf[UART_LINE_MAX];
	unsigned int n = uart_take_line(&vm->dev.uart, buf, sizeof(buf));
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(vm->fds.serial, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("serial log write");
			return;
		}
		off += (size_t)w;
	}
}

static void dev_update_irq(struct vm *vm)
{
	int level = uart_irq_level(&vm->dev.uart);
	struct kvm_irq_level irq = {.irq = SEAM_UART_IRQ,
				    .level = (uint32_t)level};

	if (level == vm->uart_irq)
		return;
	vm->uart_irq = level;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("KVM_IRQ_LINE %d", SEAM_UART_IRQ);
}

static void dev_uart(struct vm *vm, unsigned int off, int is_write,
		     unsigned int size, uint8_t *data)
{
	if (is_write) {
		if (uart_write(&vm->dev.uart, off, data[0]))
			dev_write_line(vm);
	} else {
		memset(data, 0xff, size);
		data[0] = uart_read(&vm->dev.uart, off);
	}
	dev_update_irq(vm);
}

static void dev_log_unknown(struct vm *vm, const char *what, uint64_t addr,
			    int is_write)
{
	unsigned long n = vm->unknown_io++;

	if (n < DEV_LOG_FIRST || n % DEV_LOG_EVERY == 0)
		log_debug("%s %s %#llx ignored (%lu so far)",
			  is_write ? "write to" : "read from", what,
			  (unsigned long long)addr, n + 1);
}

static void dev_pv(struct vm *vm, uint16_t port, int is_write,
		   unsigned int size, uint8_t *data)
{
	struct pvport_info info = {.version = SEAM_VMX_VERSION,
				   .ncpus = vm->nvcpus,
				   .tsc_khz = vm->tsc_khz};
	uint32_t status = 0;

	switch (pvport_io(&vm->dev.pv, &info, port, is_write, size, data,
			  &status)) {
	case PVPORT_NONE:
		break;
	case PVPORT_SHUTDOWN:
		log_info("guest shut down with status %u", status);
		vm_request_end(vm, VMX_EXIT_OK);
		break;
	case PVPORT_RESET:
		log_info("guest asked for a reset (i8042); treated as "
			 "power-off");
		vm_request_end(vm, VMX_EXIT_OK);
		break;
	case PVPORT_UNHANDLED:
		if (!is_write)
			memset(data, 0xff, size);
		dev_log_unknown(vm, "port", port, is_write);
		break;
	}
}

static void dev_io_one(struct vm *vm, uint16_t port, int is_write,
		       unsigned int size, uint8_t *data)
{
	if (port >= SEAM_UART_BASE && port < SEAM_UART_BASE + 8)
		dev_uart(vm, port - SEAM_UART_BASE, is_write, size, data);
	else
		dev_pv(vm, port, is_write, size, data);
}

void dev_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	int is_write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned int size = run->io.size;

	if (size != 1 && size != 2 && size != 4)
		return;
	pthread_mutex_lock(&vm->dev_lock);
	for (uint32_t i = 0; i < run->io.count; i++)
		dev_io_one(vm, run->io.port, is_write, size, data + i * size);
	pthread_mutex_unlock(&vm->dev_lock);
}

void dev_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;

	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	pthread_mutex_lock(&vm->dev_lock);
	dev_log_unknown(vm, "MMIO", run->mmio.phys_addr, run->mmio.is_write);
	pthread_mutex_unlock(&vm->dev_lock);
}

void vm_flush_console(struct vm *vm)
{
	struct uart_state *u = &vm->dev.uart;

	pthread_mutex_lock(&vm->dev_lock);
	if (u->line_len && u->line_len < UART_LINE_MAX)
		u->line[u->line_len++] = '\n'; /* the log ends with a line */
	if (u->line_len)
		dev_write_line(vm);
	pthread_mutex_unlock(&vm->dev_lock);
}
