/*
 * progress.c — see progress.h. Width is counted in bytes here: the bar and
 * the figures are ASCII, and a step longer than the terminal is cut.
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>

static int progress_clamp(int pct)
{
	return pct < 0 ? 0 : pct > 100 ? 100 : pct;
}

const char *ctl_progress_bar(char *buf, size_t n, int width, int pct)
{
	int fill, i;
	size_t o = 0;

	if (n == 0)
		return buf;
	if (width < 1)
		width = 1;
	pct = progress_clamp(pct);
	fill = pct * width / 100;
	if ((size_t)width + 3 > n)
		width = (int)n - 3, fill = fill > width ? width : fill;
	buf[o++] = '[';
	for (i = 0; i < width; i++)
		buf[o++] = i < fill ? '#' : '-';
	buf[o++] = ']';
	buf[o] = '\0';
	return buf;
}

const char *ctl_progress_line(char *buf, size_t n, long long task, int pct,
			      const char *step)
{
	snprintf(buf, n, "task %lld: %d%%%s%s", task, progress_clamp(pct),
		 step && step[0] ? " " : "", step && step[0] ? step : "");
	return buf;
}

/* Cut s to at most max display characters (UTF-8 aware). */
static void progress_cut(char *s, size_t max)
{
	size_t w = 0;
	char *p;

	for (p = s; *p; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80) {
			if (w == max) {
				*p = '\0';
				return;
			}
			w++;
		}
	}
}

static int progress_bar_width(int cols)
{
	int w = cols / 3;

	return w < 10 ? 10 : w > 40 ? 40 : w;
}

const char *ctl_progress_task_bar(char *buf, size_t n, int cols, long long task,
				  int pct, const char *step)
{
	char bar[64];

	ctl_progress_bar(bar, sizeof(bar), progress_bar_width(cols), pct);
	snprintf(buf, n, "task %lld %s %3d%%%s%s", task, bar,
		 progress_clamp(pct), step && step[0] ? "  " : "",
		 step && step[0] ? step : "");
	if (cols > 1)
		progress_cut(buf, (size_t)cols - 1);
	return buf;
}

const char *ctl_fmt_bytes(char *buf, size_t n, uint64_t b)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)b);
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f %s", v, unit[u]);
	return buf;
}

static int progress_bytes_pct(uint64_t done, uint64_t total)
{
	if (!total)
		return 0;
	return done >= total ? 100 : (int)(done * 100 / total);
}

const char *ctl_progress_bytes_bar(char *buf, size_t n, int cols,
				   const char *label, uint64_t done,
				   uint64_t total)
{
	char bar[64], d[32], t[32];
	int pct = progress_bytes_pct(done, total);

	ctl_progress_bar(bar, sizeof(bar), progress_bar_width(cols), pct);
	ctl_fmt_bytes(d, sizeof(d), done);
	ctl_fmt_bytes(t, sizeof(t), total);
	if (total)
		snprintf(buf, n, "%s %s %3d%%  %s / %s", label, bar, pct, d, t);
	else
		snprintf(buf, n, "%s %s", label, d);
	if (cols > 1)
		progress_cut(buf, (size_t)cols - 1);
	return buf;
}

const char *ctl_progress_bytes_line(char *buf, size_t n, const char *label,
				    uint64_t done, uint64_t total)
{
	char d[32], t[32];

	ctl_fmt_bytes(d, sizeof(d), done);
	ctl_fmt_bytes(t, sizeof(t), total);
	snprintf(buf, n, "%s: %d%% %s / %s", label,
		 progress_bytes_pct(done, total), d, t);
	return buf;
}
