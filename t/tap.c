/*
 * TAP output for unit tests; see tap.h.
 */
#include "t/tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int	tap_count;
static int	tap_failed;
static int	tap_planned = -1;

void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

int
tap_ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

int
tap_is_int(long long got, long long want, const char *name)
{
	if (!tap_ok(got == want, "%s", name)) {
		printf("#   got:  %lld\n#   want: %lld\n", got, want);
		fflush(stdout);
		return 0;
	}
	return 1;
}

int
tap_is_str(const char *got, const char *want, const char *name)
{
	int	 same;

	same = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
	if (!tap_ok(same, "%s", name)) {
		printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)",
		    want ? want : "(null)");
		fflush(stdout);
		return 0;
	}
	return 1;
}

void
tap_diag(const char *fmt, ...)
{
	va_list	 ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int
tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
	fflush(stdout);
	return (tap_failed == 0 && (tap_planned < 0 || tap_planned == tap_count)) ? 0 : 1;
}
