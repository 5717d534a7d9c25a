/*
 * inventory.c — see inventory.h.
 */
#include "inventory.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fsutil.h"

/* PCI ids of DPUs / SmartNICs that run their own OS. */
static const struct {
	unsigned vendor, device;
	const char *name;
} inventory_dpus[] = {
    {0x15b3, 0xa2d2, "NVIDIA BlueField"},
    {0x15b3, 0xa2d6, "NVIDIA BlueField-2"},
    {0x15b3, 0xa2dc, "NVIDIA BlueField-3"},
    {0x1dd8, 0x0002, "AMD Pensando DSC"},
    {0x1dd8, 0x1000, "AMD Pensando DSC"},
};

static const struct {
	const char *name;
	int cap;
} inventory_kvm_caps[] = {
    {"irqchip", KVM_CAP_IRQCHIP},
    {"pit2", KVM_CAP_PIT2},
    {"xsave", KVM_CAP_XSAVE},
    {"vcpu_events", KVM_CAP_VCPU_EVENTS},
    {"immediate_exit", KVM_CAP_IMMEDIATE_EXIT},
    {"dirty_log_ring", KVM_CAP_DIRTY_LOG_RING},
    {"manual_dirty_log_protect", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2},
    {"readonly_mem", KVM_CAP_READONLY_MEM},
    {"nr_vcpus", KVM_CAP_NR_VCPUS},
    {"max_vcpus", KVM_CAP_MAX_VCPUS},
};

static void inventory_cpuinfo(json_t *h)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096], *v;
	bool model = false, virt = false;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && !(model && virt)) {
		line[strcspn(line, "\n")] = '\0';
		v = strchr(line, ':');
		if (!v)
			continue;
		v += v[1] == ' ' ? 2 : 1;
		if (!model && !strncmp(line, "model name", 10)) {
			json_object_set_new(h, "cpu_model", json_string(v));
			model = true;
		} else if (!virt && !strncmp(line, "flags", 5)) {
			const char *t = strstr(v, " vmx")   ? "vmx"
					: strstr(v, " svm") ? "svm"
							    : "none";
			json_object_set_new(h, "cpu_virtualization",
					    json_string(t));
			virt = true;
		}
	}
	fclose(f);
}

json_t *inventory_kvm(const char *dev)
{
	json_t *k = json_object(), *caps;
	size_t i;
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	json_object_set_new(k, "present", json_boolean(fd >= 0));
	if (fd < 0)
		return k;
	json_object_set_new(k, "api_version",
			    json_integer(ioctl(fd, KVM_GET_API_VERSION, 0)));
	caps = json_object();
	for (i = 0;
	     i < sizeof(inventory_kvm_caps) / sizeof(inventory_kvm_caps[0]);
	     i++)
		json_object_set_new(
		    caps, inventory_kvm_caps[i].name,
		    json_integer(ioctl(fd, KVM_CHECK_EXTENSION,
				       inventory_kvm_caps[i].cap)));
	json_object_set_new(k, "capabilities", caps);
	close(fd);
	return k;
}

static unsigned inventory_read_hex(const char *path)
{
	char buf[32];
	FILE *f = fopen(path, "r");
	unsigned v = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = (unsigned)strtoul(buf, NULL, 16);
	fclose(f);
	return v;
}

static const char *inventory_find_dpu(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	const char *found = NULL;
	struct dirent *de;
	size_t i;

	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		char p[512];
		unsigned vendor, device;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		vendor = inventory_read_hex(p);
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		device = inventory_read_hex(p);
		for (i = 0;
		     i < sizeof(inventory_dpus) / sizeof(inventory_dpus[0]);
		     i++)
			if (inventory_dpus[i].vendor == vendor &&
			    inventory_dpus[i].device == device)
				found = inventory_dpus[i].name;
	}
	closedir(d);
	return found;
}

static void inventory_apply_overrides(json_t *h, const json_t *overrides)
{
	json_t *names = json_array(), *v;
	const char *key;

	json_object_foreach((json_t *)overrides, key, v)
	{
		json_object_set(h, key, v);
		json_array_append_new(names, json_string(key));
	}
	json_object_set_new(h, "overridden", names);
}

json_t *inventory_host_attributes(const json_t *overrides)
{
	json_t *h = json_object();
	struct utsname u;
	char name[256] = "";
	const char *dpu;
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	gethostname(name, sizeof(name) - 1);
	json_object_set_new(h, "hostname", json_string(name));
	if (uname(&u) == 0) {
		json_object_set_new(h, "kernel", json_string(u.release));
		json_object_set_new(h, "arch", json_string(u.machine));
	}
	inventory_cpuinfo(h);
	json_object_set_new(h, "cores",
			    json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(h, "memory_mib",
			    json_integer((json_int_t)pages * psz >> 20));
	json_object_set_new(h, "kvm", inventory_kvm("/dev/kvm"));
	json_object_set_new(h, "tpm",
			    json_boolean(fs_exists("/sys/class/tpm/tpm0") ||
					 fs_exists("/dev/tpm0") ||
					 fs_exists("/dev/tpmrm0")));
	dpu = inventory_find_dpu();
	json_object_set_new(h, "dpu", json_boolean(dpu != NULL));
	if (dpu)
		json_object_set_new(h, "dpu_model", json_string(dpu));
	if (json_is_object(overrides))
		inventory_apply_overrides(h, overrides);
	else
		json_object_set_new(h, "overridden", json_array());
	return h;
}
