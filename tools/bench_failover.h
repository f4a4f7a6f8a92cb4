/*
 * niyanta-bench failover: a private three-node niyantad cluster with real
 * workers, K SIGKILLs of its leader under a steady submission load; the
 * time from each kill to the first write acknowledged by the new leader,
 * how many acknowledged workloads were lost or completed twice, and the
 * submissions per second of three nodes against one in the same run.
 */
#ifndef TOOLS_BENCH_FAILOVER_H
#define TOOLS_BENCH_FAILOVER_H

/* Runs the mode with argv[0] = "failover"; returns the exit status (0 if
 * every kill was recovered from, no acknowledged workload was lost,
 * unfinished or completed twice, and the target was met; 1 otherwise; 2
 * for usage errors). */
int	bench_failover_main(int argc, char **argv);

#endif /* TOOLS_BENCH_FAILOVER_H */
