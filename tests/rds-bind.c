// SPDX-License-Identifier: GPL-2.0
/*
 * Binds RDS sockets to ADDR[%SCOPE] and reports the outcome.
 *
 *   rds-bind [-n COUNT] [-e EXPECT] ADDR     bind COUNT (default 1) times
 *   rds-bind -n 0 [-e EXPECT] [-p USEC] ADDR  bind until SIGTERM or SIGINT
 *   rds-bind -t -n COUNT ADDR                timed tight loop
 *   rds-bind -H [-n COUNT] ADDR              hold COUNT (default 8) bound
 *   rds-bind -s                              bind to each address read
 *
 * Each bind uses a fresh socket, closed right after it. The first form
 * prints "ok" or the errno name (EADDRNOTAVAIL, ...) of the last bind. With
 * -e (ok, an errno name, or "any") it exits 0 only if every bind had that
 * outcome; without it only if every bind succeeded. With -n 0 it prints
 * each unexpected outcome as it happens, and "binds N unexpected M" at the
 * end. -p sleeps USEC microseconds after each bind, so that binders leave
 * the CPU to the rest of a test.
 *
 * -t times each bind() call (CLOCK_MONOTONIC) and prints one line:
 * "binds N failed F seconds S binds_per_s R p50_us P p99_us Q"; binds_per_s
 * counts the whole loop (socket, bind and close). It exits 0 only if no bind
 * failed.
 *
 * -H binds COUNT sockets and keeps them open: it prints "bound" once they
 * all are, then waits for SIGTERM or SIGINT.
 *
 * -s reads one ADDR[%SCOPE] per line from stdin until EOF, binds once to
 * each and prints the outcome as the first form does ("bad-address" for a
 * line that does not parse), flushed at once: a test that binds after every
 * step of a loop runs one rds-bind beside it instead of one per bind.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "rds_common.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: rds-bind [-n COUNT] [-e EXPECT|-t|-H] [-p USEC] ADDR | -s\n");
	exit(2);
}

/* One bind on a fresh socket: 0 or the errno value. */
static int bind_once(const struct rds_addr *a)
{
	int fd, err = 0;

	fd = rds_socket();
	if (fd < 0)
		return errno;
	if (bind(fd, &a->sa, a->len))
		err = errno;
	close(fd);
	return err;
}

static const char *outcome(int err)
{
	return err ? rds_errname(err) : "ok";
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static int timed_loop(const struct rds_addr *a, long count)
{
	long long *lat, start, t0, total;
	long i, failed = 0;
	int fd;

	lat = calloc(count, sizeof(*lat));
	if (!lat) {
		perror("rds-bind");
		return 2;
	}
	start = now_ns();
	for (i = 0; i < count; i++) {
		fd = rds_socket();
		if (fd < 0) {
			perror("rds-bind: socket");
			free(lat);
			return 2;
		}
		t0 = now_ns();
		if (bind(fd, &a->sa, a->len))
			failed++;
		lat[i] = now_ns() - t0;
		close(fd);
	}
	total = now_ns() - start;
	qsort(lat, count, sizeof(*lat), cmp_ll);
	printf("binds %ld failed %ld seconds %.3f binds_per_s %.0f p50_us %.3f p99_us %.3f\n",
	       count, failed, total / 1e9, count / (total / 1e9),
	       lat[count / 2] / 1e3, lat[(count * 99) / 100] / 1e3);
	free(lat);
	return failed ? 1 : 0;
}

static int hold(const struct rds_addr *a, long count)
{
	long i;
	int fd;

	for (i = 0; i < count; i++) {
		fd = rds_socket();
		if (fd < 0 || bind(fd, &a->sa, a->len)) {
			printf("%s\n", outcome(errno));
			return 1;
		}
	}
	printf("bound\n");
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}

static int serve(void)
{
	char line[128];
	struct rds_addr a;

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		printf("%s\n", rds_addr_parse(line, &a) ? "bad-address" : outcome(bind_once(&a)));
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *expect = "ok", *last = NULL;
	long count = -1, done = 0, bad = 0, pause_us = 0;
	int c, timed = 0, holding = 0, serving = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct rds_addr a;

	while ((c = getopt(argc, argv, "n:e:p:tHs")) != -1) {
		switch (c) {
		case 'n':
			count = atol(optarg);
			break;
		case 'e':
			expect = optarg;
			break;
		case 't':
			timed = 1;
			break;
		case 'H':
			holding = 1;
			break;
		case 'p':
			pause_us = atol(optarg);
			break;
		case 's':
			serving = 1;
			break;
		default:
			usage();
		}
	}
	if (serving) {
		if (optind != argc || timed || holding)
			usage();
		return serve();
	}
	if (optind != argc - 1 || timed + holding > 1 || count < -1 ||
	    (timed && count < 1))
		usage();
	if (rds_addr_parse(argv[optind], &a)) {
		fprintf(stderr, "rds-bind: bad address %s\n", argv[optind]);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (timed)
		return timed_loop(&a, count);
	if (holding)
		return hold(&a, count < 1 ? 8 : count);

	if (count < 0)
		count = 1;
	while (!stop && (!count || done < count)) {
		last = outcome(bind_once(&a));
		done++;
		if (strcmp(expect, "any") && strcmp(last, expect)) {
			bad++;
			if (!count)
				fprintf(stderr, "bind %ld: %s\n", done, last);
		}
		if (pause_us)
			usleep(pause_us);
	}
	if (!count)
		printf("binds %ld unexpected %ld\n", done, bad);
	else
		printf("%s\n", last);
	return bad ? 1 : 0;
}
