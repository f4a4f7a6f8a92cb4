/*
 * niyanta-bench apply: the state machine's cost per submitted workload,
 * measured in-process (no HTTP, no Raft), to compare changes to the apply
 * path in one run.
 */
#ifndef TOOLS_BENCH_APPLY_H
#define TOOLS_BENCH_APPLY_H

/* Runs the mode with argv[0] = "apply"; returns the exit status. */
int	bench_apply_main(int argc, char **argv);

#endif /* TOOLS_BENCH_APPLY_H */
