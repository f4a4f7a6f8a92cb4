/*
 * Helpers shared by the niyanta-bench modes; see bench_util.h.
 */
#include "tools/bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/clock.h"

double
bench_now_s(void)
{
	return (double)clock_mono_us() / 1e6;
}

void
bench_sleep_ms(unsigned ms)
{
	struct timespec	 ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
bench_usage_fail(const char *mode, const char *synopsis, int status,
    const char *fmt, va_list ap)
{
	fprintf(stderr, "niyanta-bench: %s%s", mode != NULL ? mode : "",
	    mode != NULL ? ": " : "");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%sTry 'niyanta-bench --help' for more information.\n",
	    synopsis);
	return status;
}

static int
bench_double_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
bench_sort_doubles(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, bench_double_cmp);
}

double
bench_percentile(const double *v, size_t n, double p)
{
	size_t	 r;

	if (n == 0)
		return 0;
	r = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
bench_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at *p into *out. */
static bool
bench_digits(const char **p, int n, unsigned *out)
{
	unsigned	 v = 0;
	int		 i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * Parses RFC 3339 ("2026-11-23T03:23:41.123Z", any number of fraction
 * digits, 'Z' or a "+hh:mm" offset) into milliseconds since the epoch.
 */
bool
bench_rfc3339_parse(const char *s, int64_t *out)
{
	unsigned	 y, mo, d, h, mi, sec, oh, om, frac_ms = 0, scale = 100;
	int64_t		 ms;
	int		 sign;

	if (s == NULL)
		return false;
	if (!bench_digits(&s, 4, &y) || *s++ != '-' ||
	    !bench_digits(&s, 2, &mo) || *s++ != '-' ||
	    !bench_digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
		return false;
	s++;
	if (!bench_digits(&s, 2, &h) || *s++ != ':' ||
	    !bench_digits(&s, 2, &mi) || *s++ != ':' ||
	    !bench_digits(&s, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		for (; *s >= '0' && *s <= '9'; s++) {
			frac_ms += (unsigned)(*s - '0') * scale;
			scale /= 10;
		}
	}
	ms = (bench_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) *
	    1000 + frac_ms;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!bench_digits(&s, 2, &oh) || *s++ != ':' ||
		    !bench_digits(&s, 2, &om) || oh > 23 || om > 59)
			return false;
		ms -= sign * (int64_t)(oh * 3600 + om * 60) * 1000;
	} else {
		return false;
	}
	if (*s != '\0')
		return false;
	*out = ms;
	return true;
}

char *
bench_batch_body(const char *one, size_t n)
{
	size_t	 len = strlen(one), i;
	char	*text, *p;

	if ((text = malloc(16 + n * (len + 1) + 3)) == NULL)
		return NULL;
	p = text;
	memcpy(p, "{\"workloads\":[", 14);
	p += 14;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, one, len);
		p += len;
	}
	memcpy(p, "]}", 3);
	return text;
}
