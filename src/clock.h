/*
 * Wall-clock and monotonic time in milliseconds.  Only proposers read the
 * wall clock: a command carries its time, so applying it is deterministic.
 */
#ifndef SRC_CLOCK_H
#define SRC_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch. */
uint64_t	clock_wall_ms(void);

/* Milliseconds from an arbitrary fixed point; never goes backwards. */
uint64_t	clock_mono_ms(void);
/* The same clock in microseconds, for timing short steps. */
uint64_t	clock_mono_us(void);

/* Formats ms-since-epoch as RFC 3339 UTC ("2026-11-23T03:23:41.123Z") into
 * buf (at least 32 bytes); returns buf. */
char		*clock_format_rfc3339(uint64_t ms, char *buf, unsigned len);

#endif /* SRC_CLOCK_H */
