/*
 * progress.h — how seamctl shows progress: the text, not the terminal.
 *
 * On a terminal a task is one line redrawn in place ("\r...\033[K"):
 *   task 12 [########------------]  40%  staging host h2
 * elsewhere (a pipe, a log file, CI) it is a plain line each time the
 * percentage or the step changes:
 *   task 12: 40% staging host h2
 * Uploads show bytes as well. These functions only format into a buffer
 * (so they are unit tested); the caller decides where and how to print.
 */
#ifndef SEAM_CTL_PROGRESS_H
#define SEAM_CTL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* "[####----]" of `width` cells inside the brackets; pct clamped 0..100. */
const char *ctl_progress_bar(char *buf, size_t n, int width, int pct);
/* "task 12: 40% staging host h2" (step NULL or "": no step). */
const char *ctl_progress_line(char *buf, size_t n, long long task, int pct,
			      const char *step);
/* The terminal line of a task, at most cols-1 characters. */
const char *ctl_progress_task_bar(char *buf, size_t n, int cols, long long task,
				  int pct, const char *step);
/* "512 B", "1.5 KiB", "12.0 MiB", "1.2 GiB". */
const char *ctl_fmt_bytes(char *buf, size_t n, uint64_t bytes);
/* "upload [####----]  40%  1.2 MiB / 3.0 MiB" (total 0: unknown). */
const char *ctl_progress_bytes_bar(char *buf, size_t n, int cols,
				   const char *label, uint64_t done,
				   uint64_t total);
/* "upload: 40% 1.2 MiB / 3.0 MiB". */
const char *ctl_progress_bytes_line(char *buf, size_t n, const char *label,
				    uint64_t done, uint64_t total);

#endif
