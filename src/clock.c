/*
 * Time helpers; see clock.h for why only proposers read the wall clock.
 */
#include "src/clock.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t
clock_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

uint64_t
clock_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Answers list thousands of records stamped within the same second, and
 * gmtime_r plus snprintf cost about 3,000 instructions each time; so each
 * thread keeps the date-and-time part of the last second it formatted and
 * writes only the milliseconds when the second repeats.
 */
#define CLOCK_RFC3339_SECS_LEN	19	/* "2026-11-23T03:23:41" */
#define CLOCK_RFC3339_LEN	24	/* plus ".123Z" */

static void
clock_rfc3339_write(uint64_t ms, char out[CLOCK_RFC3339_LEN + 1])
{
	static _Thread_local uint64_t	cached_secs = UINT64_MAX;
	static _Thread_local char	cached[64];
	uint64_t			secs = ms / 1000;
	unsigned			frac = (unsigned)(ms % 1000);
	time_t				t = (time_t)secs;
	struct tm			tm;

	if (secs != cached_secs) {
		gmtime_r(&t, &tm);
		snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		cached_secs = secs;
	}
	memcpy(out, cached, CLOCK_RFC3339_SECS_LEN);
	out[19] = '.';
	out[20] = (char)('0' + frac / 100);
	out[21] = (char)('0' + frac / 10 % 10);
	out[22] = (char)('0' + frac % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

char *
clock_format_rfc3339(uint64_t ms, char *buf, unsigned len)
{
	char	 whole[CLOCK_RFC3339_LEN + 1];

	if (len > CLOCK_RFC3339_LEN) {
		clock_rfc3339_write(ms, buf);
	} else if (len > 0) {
		clock_rfc3339_write(ms, whole);
		memcpy(buf, whole, len - 1);
		buf[len - 1] = '\0';
	}
	return buf;
}
