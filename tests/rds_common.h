/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the RDS test tools (rds-ping.c, rds-bind.c): socket
 * addresses written "ADDR[%SCOPE]", RDS sockets and timing.
 *
 * RDS takes a struct sockaddr_in for IPv4 and a struct sockaddr_in6 for
 * IPv6; a link-local IPv6 address needs its scope (an interface name or
 * index after '%').
 */
#ifndef RDS_COMMON_H
#define RDS_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef AF_RDS
#define AF_RDS 21
#endif

struct rds_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
	socklen_t len;
};

/* Parses "ADDR[%SCOPE]" into @a with port 0; returns 0 or -1. */
static inline int rds_addr_parse(const char *text, struct rds_addr *a)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *scope, *end;

	if (strlen(text) >= sizeof(host))
		return -1;
	strcpy(host, text);
	memset(a, 0, sizeof(*a));

	scope = strchr(host, '%');
	if (scope)
		*scope++ = '\0';

	if (!scope && inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->len = sizeof(a->in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) != 1)
		return -1;
	a->in6.sin6_family = AF_INET6;
	a->len = sizeof(a->in6);
	if (scope && *scope) {
		unsigned long id = strtoul(scope, &end, 10);

		if (*end)
			id = if_nametoindex(scope);
		if (!id)
			return -1;
		a->in6.sin6_scope_id = id;
	}
	return 0;
}

/* Prints @a as "ADDR[%SCOPE]" into @buf. */
static inline const char *rds_addr_str(const struct rds_addr *a, char *buf,
				       size_t size)
{
	size_t n;

	if (a->sa.sa_family == AF_INET)
		return inet_ntop(AF_INET, &a->in.sin_addr, buf, size);
	if (!inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, size))
		return NULL;
	n = strlen(buf);
	if (a->in6.sin6_scope_id)
		snprintf(buf + n, size - n, "%%%u", a->in6.sin6_scope_id);
	return buf;
}

/* The symbolic name of an errno value ("EADDRNOTAVAIL"), or its number. */
static inline const char *rds_errname(int err)
{
	static char num[16];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(num, sizeof(num), "%d", err);
	return num;
}

static inline int rds_socket(void)
{
	return socket(AF_RDS, SOCK_SEQPACKET, 0);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* RDS_COMMON_H */
