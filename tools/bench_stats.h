/*
 * Small statistics shared by the niyanta-bench modes.
 */
#ifndef TOOLS_BENCH_STATS_H
#define TOOLS_BENCH_STATS_H

#include <stddef.h>

/* Sorts v[0..n) ascending. */
void	bench_sort_doubles(double *v, size_t n);

/* Nearest-rank percentile p (0..100) of the sorted v[0..n); 0 when n is 0. */
double	bench_percentile(const double *v, size_t n, double p);

#endif /* TOOLS_BENCH_STATS_H */
