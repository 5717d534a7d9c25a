/*
 * pvport.c — see pvport.h.
 *
 * Reads narrower than a register return its low bytes; reads of a port this
 * file owns but does not define return all ones, like an empty bus.
 */
#include "pvport.h"

#include <stdio.h>
#include <string.h>

#include "guest_abi.h"

#define PVPORT_POST 0x80

static void pvport_put(uint8_t *data, unsigned int size, uint32_t v)
{
	for (unsigned int i = 0; i < size; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t pvport_get(const uint8_t *data, unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	return v;
}

static uint8_t pvport_version_byte(struct pvport_state *s,
				   const struct pvport_info *info)
{
	const char *v = s->version[0] ? s->version : info->version;
	size_t len = strnlen(v, sizeof(s->version) - 1);

	if (s->version_idx >= len)
		return 0;
	return (uint8_t)v[s->version_idx++];
}

void pvport_restored(struct pvport_state *s)
{
	s->version[sizeof(s->version) - 1] = '\0';
	if (s->version_idx == 0)
		s->version[0] = '\0';
}

static enum pvport_action pvport_seam(struct pvport_state *s,
				      const struct pvport_info *info,
				      uint16_t port, int is_write,
				      unsigned int size, uint8_t *data,
				      uint32_t *status)
{
	if (is_write) {
		if (port == SEAM_PORT_VERSION) {
			s->version_idx = 0;
			snprintf(s->version, sizeof(s->version), "%s",
				 info->version);
		}
		if (port == SEAM_PORT_EXIT) {
			*status = pvport_get(data, size);
			return PVPORT_SHUTDOWN;
		}
		return PVPORT_NONE;
	}
	switch (port) {
	case SEAM_PORT_VERSION:
		memset(data, 0, size);
		data[0] = pvport_version_byte(s, info);
		break;
	case SEAM_PORT_NCPUS:
		pvport_put(data, size, info->ncpus);
		break;
	case SEAM_PORT_TSC_KHZ:
		pvport_put(data, size, info->tsc_khz);
		break;
	default:
		memset(data, 0xff, size);
		break;
	}
	return PVPORT_NONE;
}

enum pvport_action pvport_io(struct pvport_state *s,
			     const struct pvport_info *info, uint16_t port,
			     int is_write, unsigned int size, uint8_t *data,
			     uint32_t *status)
{
	if (port >= SEAM_PORT_FIRST && port <= SEAM_PORT_LAST)
		return pvport_seam(s, info, port, is_write, size, data,
				   status);
	if (port == SEAM_I8042_PORT) {
		if (is_write && data[0] == SEAM_I8042_RESET)
			return PVPORT_RESET;
		if (!is_write)
			memset(data, 0, size); /* status: buffers empty */
		return PVPORT_NONE;
	}
	if (port == PVPORT_POST) {
		if (!is_write)
			memset(data, 0xff, size);
		return PVPORT_NONE;
	}
	return PVPORT_UNHANDLED;
}
