/*
 * log.h — one small logger for every Seam process.
 *
 * Each process calls log_init() once with its tag ("vmx", "hostd", ...). Lines
 * go to stderr as "TAG[pid]: LEVEL: message"; a supervisor (hostd, systemd, a
 * test) captures them. log_warn() appends strerror(errno), log_warnx() does
 * not; fatal()/fatalx() log and exit(1). Formats are checked by the compiler.
 */
#ifndef SEAM_LOG_H
#define SEAM_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
		 LOG_LEVEL_DEBUG };

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *tag, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
