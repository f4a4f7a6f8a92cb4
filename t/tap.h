/*
 * A tiny TAP producer for unit tests: plan, ok, is, done.  Output goes to
 * stdout for automake's tap-driver.sh.
 */
#ifndef T_TAP_H
#define T_TAP_H

#include <stdint.h>

/* Declares n tests up front (or call tap_done() at the end instead). */
void	tap_plan(int n);
/* Records one test; returns cond so callers can chain diagnostics. */
int	tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Compares integers and strings, printing both on failure. */
int	tap_is_int(long long got, long long want, const char *name);
int	tap_is_str(const char *got, const char *want, const char *name);
/* A "# ..." line. */
void	tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the run: prints the plan if none was declared; returns the exit
 * status for main (0 if every test passed). */
int	tap_done(void);

#define ok(cond, ...)		tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, name)	tap_is_int((long long)(got), (long long)(want), (name))
#define is_str(got, want, name)	tap_is_str((got), (want), (name))

#endif /* T_TAP_H */
