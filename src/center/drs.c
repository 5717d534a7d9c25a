/*
 * drs.c — see drs.h.
 */
#include "drs.h"

#include <errno.h>
#include <string.h>

int64_t drs_free_mib(const json_t *host)
{
	const json_t *inv = json_object_get(host, "inventory"), *vm;
	int64_t total = json_integer_value(
	    json_object_get(json_object_get(inv, "host"), "memory_mib"));
	size_t i;

	json_array_foreach(json_object_get(inv, "vms"), i, vm)
	{
		const char *st =
		    json_string_value(json_object_get(vm, "state"));

		if (st && !strcmp(st, "running"))
			total -=
			    json_integer_value(json_object_get(vm, "mem_mib"));
	}
	return total;
}

static size_t drs_nvms(const json_t *host)
{
	return json_array_size(
	    json_object_get(json_object_get(host, "inventory"), "vms"));
}

static const char *drs_unfit(const json_t *h, int64_t mem_mib)
{
	const char *st = json_string_value(json_object_get(h, "state"));
	const char *mm = json_string_value(json_object_get(
	    json_object_get(h, "inventory"), "maintenance_mode"));

	if (!st || strcmp(st, "connected"))
		return "not connected";
	if (mm && strcmp(mm, "none"))
		return "in maintenance mode";
	if (drs_free_mib(h) < mem_mib)
		return "not enough free memory";
	return NULL;
}

const json_t *drs_place(const json_t *hosts, int64_t mem_mib,
			struct seam_err *e)
{
	const json_t *best = NULL, *h;
	size_t i;

	json_array_foreach((json_t *)hosts, i, h)
	{
		int64_t f, bf;

		if (drs_unfit(h, mem_mib))
			continue;
		if (!best) {
			best = h;
			continue;
		}
		f = drs_free_mib(h);
		bf = drs_free_mib(best);
		if (f > bf || (f == bf && drs_nvms(h) < drs_nvms(best)))
			best = h;
	}
	if (!best)
		err_set(e, EBUSY,
			"DRS: no host can take a VM of %lld MiB (%zu host(s): "
			"each is disconnected, in maintenance mode or short "
			"of memory)",
			(long long)mem_mib, json_array_size(hosts));
	return best;
}
