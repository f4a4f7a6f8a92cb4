/*
 * Small statistics shared by the niyanta-bench modes; see bench_stats.h.
 */
#include "tools/bench_stats.h"

#include <stdlib.h>

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
