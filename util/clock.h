/* clock: the two times deploybot reads. Wall-clock milliseconds are stored
 * (runs, outbox); monotonic ones measure durations, which must not jump when
 * the system clock is set. */
#ifndef DEPLOYBOT_UTIL_CLOCK_H
#define DEPLOYBOT_UTIL_CLOCK_H

/* Unix time in milliseconds. */
long long clock_wall_ms(void);
/* Milliseconds since an arbitrary point, never going back. */
long long clock_mono_ms(void);
/* The same clock in microseconds, for timings finer than a millisecond. */
long long clock_mono_us(void);

#endif
