/*
 * niyanta-bench assign: assignments per second end to end, through the
 * log.  A private niyantad, W workers simulated in this process over the
 * real worker protocol, N workloads submitted in batches; the time from the
 * first submission to the last START acknowledged.
 */
#ifndef TOOLS_BENCH_ASSIGN_H
#define TOOLS_BENCH_ASSIGN_H

/* Runs the mode with argv[0] = "assign"; returns the exit status (0 if
 * every workload was submitted and its START acknowledged, whether or not
 * the target was met; 1 if the run failed; 2 for usage errors). */
int	bench_assign_main(int argc, char **argv);

#endif /* TOOLS_BENCH_ASSIGN_H */
