/*
 * niyanta-bench sched: the placement decision (sched_place) measured
 * in-process over a generated fleet and queue, with every placement checked
 * against the rules (hard affinity, capacity, anti-affinity, quotas).
 */
#ifndef TOOLS_BENCH_SCHED_H
#define TOOLS_BENCH_SCHED_H

/* Runs the mode with argv[0] = "sched"; returns the exit status (0, 1 if a
 * placement broke a rule or the run failed, 2 for usage errors). */
int	bench_sched_main(int argc, char **argv);

#endif /* TOOLS_BENCH_SCHED_H */
