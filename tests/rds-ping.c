// SPDX-License-Identifier: GPL-2.0
/*
 * rds-ping for the selftests, after rds-tools' rds-ping.
 *
 * Opens 8 RDS sockets bound to the source address (port 0, so each gets an
 * ephemeral port), sends zero-length messages to port 0 of the destination
 * in turn, and prints one line per pong with its round-trip time. Exits 1
 * when no pong came back, 2 on a setup error (bind, usage).
 *
 *   rds-ping [-c COUNT] [-i INTERVAL] [-I SOURCE] [-w WAIT] [-r RUNS] DEST
 *
 * COUNT 0 (the default) pings until interrupted. INTERVAL and WAIT are in
 * seconds (defaults 1 and 3); WAIT is how long to wait for outstanding pongs
 * after the last ping. Addresses are ADDR[%SCOPE]; without -I the source is
 * the address the routing table picks for DEST. -r repeats the whole run
 * (new sockets, new binds) RUNS times, as that many rds-ping invocations
 * would, then prints "runs N with_pong M" and exits 0 only if every run got
 * a pong.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <poll.h>
#include <unistd.h>

#include "rds_common.h"

#define NUM_SOCKETS 8

struct opts {
	long count;
	double interval;
	double wait;
	long runs;
	const char *source;
	struct rds_addr dest;
};

static void usage(void)
{
	fprintf(stderr, "usage: rds-ping [-c COUNT] [-i INTERVAL] [-I SOURCE] "
		"[-w WAIT] [-r RUNS] DEST\n");
	exit(2);
}

/* The local address the routing table picks for @dest, as rds-ping does. */
static int source_for(const struct rds_addr *dest, struct rds_addr *src)
{
	struct rds_addr probe = *dest;
	int fd, ret;

	fd = socket(dest->sa.sa_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (probe.sa.sa_family == AF_INET)
		probe.in.sin_port = htons(1);
	else
		probe.in6.sin6_port = htons(1);
	src->len = sizeof(src->in6);
	ret = connect(fd, &probe.sa, probe.len);
	if (!ret)
		ret = getsockname(fd, &src->sa, &src->len);
	close(fd);
	if (!ret) {
		if (src->sa.sa_family == AF_INET)
			src->in.sin_port = 0;
		else
			src->in6.sin6_port = 0;
	}
	return ret;
}

/* One rds-ping run; returns its exit status. */
static int run(const struct opts *o, const struct rds_addr *src)
{
	long long sent_at[NUM_SOCKETS], next_send, end = 0, now, got;
	long seq[NUM_SOCKETS] = { 0 };
	struct pollfd pfd[NUM_SOCKETS];
	long sent = 0, pongs = 0, outstanding = 0;
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], msg[64];
	int i, n, timeout_ms, ret = 2;

	for (i = 0; i < NUM_SOCKETS; i++)
		pfd[i].fd = -1;
	for (i = 0; i < NUM_SOCKETS; i++) {
		pfd[i].fd = rds_socket();
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0) {
			fprintf(stderr, "rds-ping: socket failed: %s\n",
				rds_errname(errno));
			goto out;
		}
		if (bind(pfd[i].fd, &src->sa, src->len)) {
			fprintf(stderr, "rds-ping: bind to %s failed: %s\n",
				rds_addr_str(src, buf, sizeof(buf)),
				rds_errname(errno));
			goto out;
		}
	}

	next_send = now_ns();
	for (;;) {
		now = now_ns();
		if ((!o->count || sent < o->count) && now >= next_send) {
			i = sent % NUM_SOCKETS;
			sent++;
			if (sendto(pfd[i].fd, NULL, 0, MSG_DONTWAIT,
				   &o->dest.sa, o->dest.len) < 0) {
				fprintf(stderr, "rds-ping: send %ld failed: %s\n",
					sent, rds_errname(errno));
			} else {
				if (!seq[i])
					outstanding++;
				seq[i] = sent;
				sent_at[i] = now_ns();
			}
			next_send = now + (long long)(o->interval * 1e9);
			if (o->count && sent == o->count)
				end = now + (long long)(o->wait * 1e9);
		}
		if (end && (!outstanding || now >= end))
			break;
		timeout_ms = ((end ? end : next_send) - now_ns()) / 1000000;
		n = poll(pfd, NUM_SOCKETS, timeout_ms > 0 ? timeout_ms : 0);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "rds-ping: poll failed: %s\n",
				rds_errname(errno));
			goto out;
		}
		for (i = 0; n > 0 && i < NUM_SOCKETS; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (recv(pfd[i].fd, msg, sizeof(msg), MSG_DONTWAIT) < 0)
				continue;
			got = now_ns();
			if (!seq[i])
				continue;
			pongs++;
			outstanding--;
			printf("   %ld: %lld usec\n", seq[i],
			       (got - sent_at[i]) / 1000);
			fflush(stdout);
			seq[i] = 0;
		}
	}
	ret = pongs ? 0 : 1;
out:
	for (i = 0; i < NUM_SOCKETS; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 0, .interval = 1, .wait = 3, .runs = 1 };
	struct rds_addr src;
	long r, good = 0;
	int c;

	while ((c = getopt(argc, argv, "c:i:I:w:r:")) != -1) {
		switch (c) {
		case 'c':
			o.count = atol(optarg);
			break;
		case 'i':
			o.interval = atof(optarg);
			break;
		case 'I':
			o.source = optarg;
			break;
		case 'w':
			o.wait = atof(optarg);
			break;
		case 'r':
			o.runs = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || o.count < 0 || o.runs < 1 ||
	    o.interval < 0 || o.wait < 0)
		usage();
	if (rds_addr_parse(argv[optind], &o.dest)) {
		fprintf(stderr, "rds-ping: bad destination %s\n", argv[optind]);
		return 2;
	}
	if (o.source ? rds_addr_parse(o.source, &src) :
		       source_for(&o.dest, &src)) {
		fprintf(stderr, "rds-ping: no source address for %s\n",
			o.source ? o.source : argv[optind]);
		return 2;
	}

	if (o.runs == 1)
		return run(&o, &src);
	for (r = 0; r < o.runs; r++)
		good += run(&o, &src) == 0;
	printf("runs %ld with_pong %ld\n", o.runs, good);
	return good == o.runs ? 0 : 1;
}
