/*
 * Helpers shared by the niyanta-bench modes: percentiles, and reading the
 * server's times.
 */
#ifndef TOOLS_BENCH_UTIL_H
#define TOOLS_BENCH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock, for measuring. */
double	bench_now_s(void);
/* Sleeps ms milliseconds (the whole time, through signals). */
void	bench_sleep_ms(unsigned ms);

/* Reports bad usage of niyanta-bench's mode (NULL: no mode) on stderr: the
 * message, the synopsis and a pointer to --help.  Returns status. */
int	bench_usage_fail(const char *mode, const char *synopsis, int status,
	    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Sorts v[0..n) ascending. */
void	bench_sort_doubles(double *v, size_t n);

/* Nearest-rank percentile p (0..100) of the sorted v[0..n); 0 when n is 0. */
double	bench_percentile(const double *v, size_t n, double p);

/* Parses RFC 3339 ("2026-11-23T03:23:41.123Z", any number of fraction
 * digits, 'Z' or a "+hh:mm" offset) into milliseconds since the epoch;
 * false if s is NULL or malformed. */
bool	bench_rfc3339_parse(const char *s, int64_t *out);

/* {"workloads":[one,one,...]}: n copies of the JSON object one, the body
 * of POST /v1/workloads/batch.  Caller frees; NULL on OOM. */
char	*bench_batch_body(const char *one, size_t n);

#endif /* TOOLS_BENCH_UTIL_H */
