/*
 * niyanta-bench checkpoint: the CPU cost of a checkpoint's path, worker
 * side (compress, hash) and coordinator side (check, apply, commit), in
 * MB/s of checkpoint, and the compression ratio; in-process.
 */
#ifndef TOOLS_BENCH_CHECKPOINT_H
#define TOOLS_BENCH_CHECKPOINT_H

/* Runs the mode with argv[0] = "checkpoint"; returns the exit status. */
int	bench_checkpoint_main(int argc, char **argv);

#endif /* TOOLS_BENCH_CHECKPOINT_H */
