// SPDX-License-Identifier: GPL-2.0
/*
 * timer-floor DELAY_US COUNT: sleeps COUNT times until a CLOCK_MONOTONIC
 * deadline DELAY_US ahead, with 1 ns timer slack, as a delay target's worker
 * does per bio, and prints how late it woke up:
 * "delay_us D count N min_us A p50_us B p99_us C mean_us M".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long long delay = argc == 3 ? atol(argv[1]) * 1000LL : 0, *over, sum = 0, deadline;
	long i, count = argc == 3 ? atol(argv[2]) : 0;
	struct timespec ts;

	if (delay < 1000 || count < 1) {
		fprintf(stderr, "usage: timer-floor DELAY_US COUNT\n");
		return 2;
	}
	over = calloc(count, sizeof(*over));
	if (!over || prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0)) {
		perror("timer-floor");
		return 2;
	}
	for (i = 0; i < count; i++) {
		deadline = now_ns() + delay;
		ts.tv_sec = deadline / 1000000000LL;
		ts.tv_nsec = deadline % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
			;
		over[i] = now_ns() - deadline;
		sum += over[i];
	}
	qsort(over, count, sizeof(*over), cmp_ll);
	printf("delay_us %lld count %ld min_us %.1f p50_us %.1f p99_us %.1f mean_us %.1f\n",
	       delay / 1000, count, over[0] / 1e3, over[count / 2] / 1e3,
	       over[count * 99 / 100] / 1e3, sum / 1e3 / count);
	free(over);
	return 0;
}
