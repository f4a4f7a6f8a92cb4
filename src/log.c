/*
 * Logging: one line per event, "time level prog[pid] ID: message".  A single
 * write(2) per line keeps lines from different threads whole.
 */
#include "src/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char	*log_progname = "niyanta";
static enum log_level	 log_min = LOG_LEVEL_INFO;

void
log_init(const char *progname, enum log_level min)
{
	log_progname = progname;
	log_min = min;
}

int
log_level_parse(const char *name)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	size_t	 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

static void
log_vmsg(enum log_level lvl, const char *id, const char *fmt, va_list ap)
{
	static const char *const lvlname[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	char		 line[2048];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%ld] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, lvlname[lvl],
	    log_progname, (long)getpid(), id);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
}

void
log_msg(enum log_level lvl, const char *id, const char *fmt, ...)
{
	va_list	 ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	log_vmsg(lvl, id, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *id, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, id, fmt, ap);
	va_end(ap);
	exit(1);
}
