/* Logging to stderr with a timestamp and a level. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

int log_level = LOG_LEVEL_INFO;

static void
log_vwrite(const char *level, const char *error, const char *fmt, va_list ap)
{
	char stamp[32];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ livd %s: ", stamp, (int)(tv.tv_usec / 1000),
	    level);
	vfprintf(stderr, fmt, ap);
	if (error != NULL)
		fprintf(stderr, ": %s", error);
	fputc('\n', stderr);
}

#define LOG_BODY(minimum, name, error) do {		\
	va_list ap;					\
	if (log_level < (minimum))			\
		return;					\
	va_start(ap, fmt);				\
	log_vwrite((name), (error), fmt, ap);		\
	va_end(ap);					\
} while (0)

/* Log a warning with the current errno's text. */
void
log_warn(const char *fmt, ...)
{
	const char *error = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARN, "warning", error);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, "warning", NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, "info", NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, "debug", NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *error = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", error, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
