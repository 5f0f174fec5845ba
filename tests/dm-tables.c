// SPDX-License-Identifier: GPL-2.0
/*
 * Generated delay tables, each loaded into one dm device and resumed, as
 * dmsetup load and resume do (the resume swaps it in), and held to what the
 * table syntax promises:
 *
 *   dm-tables [-n COUNT] [-s SEED] DEV...
 *
 * A table is a well-formed one (3, 6 or 9 arguments on the DEVs: paths,
 * major:minor, zero-padded numbers, offsets anywhere on or past the device,
 * delays with and without ms/us, extremes of 64 and 32 bits), and half of
 * them get one to three mutations: an argument replaced by one that does
 * not parse, overflows or names no device (or the dm device itself), or
 * by garbage, or arguments added or dropped. Arguments are joined by one
 * to three spaces.
 *
 * A model of the syntax (below, written from the documentation and from
 * dm's device lookup, not from the target) says what must happen:
 * - accepted: the table, as DM_TABLE_STATUS (dmsetup table) prints it,
 *   is the one given, canonical: each device as major:minor, numbers in
 *   decimal without leading zeros, a delay's unit as given;
 * - refused: the load fails (the resume, for a size that does not fit),
 *   with EINVAL for a bad argument count, offset, delay or size, and the
 *   kernel log gives the target's ti->error (or dm's "too small for
 *   target").
 * At the end, the DEVs have no holder and rust_dm_delay no reference.
 *
 * Prints each table that breaks the model ("bad: ...", the first 20) and
 * "tables N accepted A refused R (argc a, sector s, delay d, device v,
 * size z) bad B" (refusals by cause). Exits 1 if a table was bad.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dm_common.h"

#define DM_NAME "dm-tables"
#define MAX_DEVS 4
#define MAX_ARGS 12

static struct {
	const char *path;
	dev_t devno;
	uint64_t sectors;
} devs[MAX_DEVS];
static int ndevs, ctl, kmsg, nbad;
static dev_t self;
static union dm_buf u;

static void die(const char *what)
{
	fprintf(stderr, "dm-tables: %s: %s\n", what, strerror(errno));
	exit(2);
}

static unsigned int rnd(unsigned int n)
{
	return random() % n;
}

static uint64_t rnd64(void)
{
	return (uint64_t)random() << 62 ^ (uint64_t)random() << 31 ^ random();
}

/* A string that parses as nothing: it starts with neither digit nor '/'. */
static void garbage(char *s)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFXYZ@_.,=+-%#!?*";
	static const char rest[] = "abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789:/@_.,=+-%#!?*~";
	unsigned int l = 1 + rnd(16);

	*s++ = first[rnd(sizeof(first) - 1)];
	while (--l)
		*s++ = rest[rnd(sizeof(rest) - 1)];
	*s = 0;
}

/* A name of DEV d: its path, major:minor, or major:minor zero-padded. */
static void gen_dev(char *s, int d)
{
	switch (rnd(4)) {
	case 0:
	case 1:
		strcpy(s, devs[d].path);
		break;
	case 2:
		sprintf(s, "%u:%u", major(devs[d].devno), minor(devs[d].devno));
		break;
	default:
		sprintf(s, "%03u:%04u", major(devs[d].devno), minor(devs[d].devno));
	}
}

static void bad_dev(char *s)
{
	static const char *const names[] = {
		"/dev/nonexistent", "/dev/null", "/dev", "4096:0", "0:1048576", "0:0",
		"99999999999:1", "7:", ":7", "7:0:0", "/dev/loop0x",
	};
	unsigned int i = rnd(sizeof(names) / sizeof(names[0]) + 1);

	if (i < sizeof(names) / sizeof(names[0]))
		strcpy(s, names[i]);
	else
		sprintf(s, "%u:%u", major(self), minor(self));
}

/* An offset for a target of LEN sectors on a device of SECTORS. */
static void gen_offset(char *s, uint64_t len, uint64_t sectors)
{
	uint64_t v, room = sectors - len;

	switch (rnd(8)) {
	case 0:
		v = room;
		break;
	case 1:
		v = room + 1 + rnd(len);
		break;
	case 2:
		v = rnd(2) ? UINT64_MAX : rnd64();
		break;
	default:
		v = rnd64() % (room + 1);
	}
	sprintf(s, rnd(8) ? "%llu" : "000%llu", (unsigned long long)v);
}

static void bad_offset(char *s)
{
	static const char *const v[] = {
		"18446744073709551616", "99999999999999999999999", "-1", "+1", "0x10", "1k", "12ab",
		"1.5", "1e3", "1ms",
	};
	strcpy(s, v[rnd(sizeof(v) / sizeof(v[0]))]);
}

static void gen_delay(char *s)
{
	static const char *const unit[] = {"", "ms", "us"};
	static const unsigned int max[] = {1, 1001, 1000001, 0};
	unsigned int m = max[rnd(4)];
	uint64_t v = m ? rnd(m) : rnd(2) ? UINT32_MAX : (uint32_t)rnd64();

	sprintf(s, rnd(8) ? "%llu%s" : "00%llu%s", (unsigned long long)v, unit[rnd(3)]);
}

static void bad_delay(char *s)
{
	static const char *const v[] = {
		"4294967296", "4294967296us", "99999999999999999999ms", "-1", "+1", "1s", "1.5",
		"us", "ms", "1msus", "1usms", "0x1", "1Ms",
	};
	strcpy(s, v[rnd(sizeof(v) / sizeof(v[0]))]);
}

/* What the model expects of a table: refused for a cause, or accepted. */
enum outcome { ARGC, SECTOR, DELAY, DEVICE, SIZE, ACCEPTED };

/* Each cause's name, and the kernel log's words for it. */
static const struct {
	const char *name, *log;
} causes[] = {
	[ARGC] = {"argc", "delay: Requires exactly 3, 6 or 9 arguments"},
	[SECTOR] = {"sector", "delay: Invalid device sector"},
	[DELAY] = {"delay", "delay: Invalid delay"},
	[DEVICE] = {"device", "delay: Device lookup failed"},
	[SIZE] = {"size", "too small for target"},
};

/* The model: an offset or delay is digits only and fits its width. */
static int number(const char *s, uint64_t max, uint64_t *v)
{
	*v = 0;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *v > (max - (*s - '0')) / 10)
			return 0;
		*v = *v * 10 + (*s - '0');
	}
	return 1;
}

/* The model of a delay: digits, then ms, us or nothing; fits 32 bits. */
static int delay_ok(const char *s, char *canon)
{
	char digits[64];
	const char *unit = "";
	size_t l = strlen(s);
	uint64_t v;

	strcpy(digits, s);
	if (l >= 2 && (!strcmp(s + l - 2, "us") || !strcmp(s + l - 2, "ms"))) {
		unit = s + l - 2;
		digits[l - 2] = 0;
	}
	if (!number(digits, UINT32_MAX, &v))
		return 0;
	sprintf(canon, "%llu%s", (unsigned long long)v, unit);
	return 1;
}

/*
 * The model of dm's lookup: "major:minor" in decimal, or a path to a block
 * device; valid if it is one of DEVs. Returns its index or -1.
 */
static int dev_index(const char *s)
{
	unsigned int ma, mi;
	struct stat st;
	dev_t d;
	int n;

	if (strchr(s, ':') && !s[strspn(s, "0123456789:")]) {
		if (sscanf(s, "%u:%u%n", &ma, &mi, &n) != 2 || s[n] || ma >= 4096 ||
		    mi >= (1 << 20))
			return -1;
		d = makedev(ma, mi);
	} else if (stat(s, &st) || !S_ISBLK(st.st_mode)) {
		return -1;
	} else {
		d = st.st_rdev;
	}
	for (int i = 0; i < ndevs; i++)
		if (devs[i].devno == d)
			return i;
	return -1;
}

/*
 * What the model expects of ARGS (ARGC of them) on a target of LEN
 * sectors; if accepted, its canonical table is put in CANON. The ctr reads
 * the read triple, then the write one (the second, if given), then the
 * flush one (the last): in each the offset, the delay, then the device.
 * dm checks the sizes when it swaps the table in.
 */
static enum outcome expect(char args[][64], int argc, uint64_t len, char *canon)
{
	int first[3] = {0, argc >= 6 ? 3 : 0, argc - 3};
	int dev[3];
	uint64_t start[3], v;
	char delay[3][32];

	if (argc != 3 && argc != 6 && argc != 9)
		return ARGC;
	for (int c = 0; c < 3; c++) {
		int f = first[c];

		if (!number(args[f + 1], UINT64_MAX, &start[c]))
			return SECTOR;
		if (!delay_ok(args[f + 2], delay[c]))
			return DELAY;
		dev[c] = dev_index(args[f]);
		if (dev[c] < 0)
			return DEVICE;
	}
	for (int c = 0; c < 3; c++) {
		v = devs[dev[c]].sectors;
		if (start[c] >= v || len > v - start[c])
			return SIZE;
	}
	*canon = 0;
	for (int c = 0; c < argc / 3; c++)
		sprintf(canon + strlen(canon), "%s%u:%u %llu %s", c ? " " : "",
			major(devs[dev[c]].devno), minor(devs[dev[c]].devno),
			(unsigned long long)start[c], delay[c]);
	return ACCEPTED;
}

/* Whether the kernel log, since the last call, has a line with WORDS. */
static int logged(const char *words)
{
	char rec[2048];
	ssize_t n;
	int found = 0;

	while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n > 0) {
			rec[n] = 0;
			found |= words && strstr(rec, words) != NULL;
		}
	}
	return found;
}

/* Holders of the DEVs plus rust_dm_delay's reference count. */
static int refs(void)
{
	dev_t devnos[MAX_DEVS];
	int r;

	for (int i = 0; i < ndevs; i++)
		devnos[i] = devs[i].devno;
	r = dm_refs(devnos, ndevs);
	if (r < 0)
		die("a holders directory");
	return r;
}

/* Reports table I, which broke the model: it wanted WHAT and got GOT. */
static void bad(int i, const char *params, uint64_t len, const char *what, const char *got)
{
	if (++nbad <= 20)
		printf("bad: table %d '%s' (%llu sectors): %s, got %s\n", i, params,
		       (unsigned long long)len, what, got);
}

int main(int argc, char **argv)
{
	unsigned int seed = 1, count = 1000, refused[ACCEPTED] = {}, accepted = 0;
	char args[MAX_ARGS][64], params[MAX_ARGS * 70], canon[512], tmp[] = "/tmp/dm-tables.XXXXXX";
	uint64_t minsize = UINT64_MAX;
	int opt, refs0;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			count = atoi(optarg);
		else if (opt == 's')
			seed = atoi(optarg);
		else
			goto usage;
	}
	if (optind == argc || argc - optind > MAX_DEVS) {
usage:
		fprintf(stderr, "usage: dm-tables [-n COUNT] [-s SEED] DEV...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++, ndevs++) {
		struct stat st;
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0 || fstat(fd, &st) || ioctl(fd, BLKGETSIZE64, &devs[ndevs].sectors))
			die(argv[i]);
		close(fd);
		devs[ndevs].path = argv[i];
		devs[ndevs].devno = st.st_rdev;
		devs[ndevs].sectors >>= 9;
		if (devs[ndevs].sectors < minsize)
			minsize = devs[ndevs].sectors;
	}
	/* Relative names (garbage) must resolve to nothing. */
	if (!mkdtemp(tmp) || chdir(tmp))
		die(tmp);
	ctl = open("/dev/mapper/control", O_RDWR);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (ctl < 0 || kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0)
		die("/dev/mapper/control or /dev/kmsg");
	srandom(seed);
	refs0 = refs();
	/* The device, with a first table that sets its type. */
	snprintf(params, sizeof(params), "%s 0 0", devs[0].path);
	if (dm_call(ctl, DM_DEV_CREATE, DM_NAME, 0, 0, NULL, &u))
		die("DM_DEV_CREATE");
	self = u.io.dev;
	if (dm_call(ctl, DM_TABLE_LOAD, DM_NAME, 0, 1, params, &u) ||
	    dm_call(ctl, DM_DEV_SUSPEND, DM_NAME, 0, 0, NULL, &u))
		die("the first table");

	for (int i = 0; i < (int)count; i++) {
		uint64_t len = 1 + rnd64() % minsize;
		int n = 3 * (1 + rnd(3)), err;
		enum outcome want;
		const char *got;

		for (int t = 0; t < n; t += 3) {
			int d = rnd(ndevs);

			gen_dev(args[t], d);
			gen_offset(args[t + 1], len, devs[d].sectors);
			gen_delay(args[t + 2]);
		}
		for (int m = rnd(2) ? 1 + rnd(3) : 0; m > 0; m--) {
			int a = rnd(n + 1);

			if (a == n) {
				/* Arguments dropped, or well-formed delays added. */
				int to = rnd(MAX_ARGS + 1);

				for (; n < to; n++)
					gen_delay(args[n]);
				n = to;
			} else if (rnd(4) == 0) {
				garbage(args[a]);
			} else if (a % 3 == 0) {
				bad_dev(args[a]);
			} else if (a % 3 == 1) {
				bad_offset(args[a]);
			} else {
				bad_delay(args[a]);
			}
		}
		*params = 0;
		for (int a = 0; a < n; a++) {
			if (a)
				sprintf(params + strlen(params), "%.*s", 1 + (int)rnd(3), "   ");
			strcat(params, args[a]);
		}

		want = expect(args, n, len, canon);
		logged(NULL);
		err = dm_call(ctl, DM_TABLE_LOAD, DM_NAME, 0, len, params, &u);
		if (!err)
			err = dm_call(ctl, DM_DEV_SUSPEND, DM_NAME, 0, 0, NULL, &u);
		if (!err) {
			accepted++;
			err = dm_call(ctl, DM_TABLE_STATUS, DM_NAME, DM_STATUS_TABLE_FLAG, 0, NULL, &u);
			got = err ? strerrorname_np(err) : dm_target_params(&u);
			if (want != ACCEPTED)
				bad(i, params, len, causes[want].log, "accepted");
			else if (!got || strcmp(got, canon))
				bad(i, params, len, canon, got ? got : "no table");
		} else if (want == ACCEPTED) {
			bad(i, params, len, canon, strerrorname_np(err));
		} else {
			refused[want]++;
			if (want != DEVICE && err != EINVAL)
				bad(i, params, len, "EINVAL", strerrorname_np(err));
			else if (!logged(causes[want].log))
				bad(i, params, len, causes[want].log, "no such kernel log line");
		}
	}
	if (dm_call(ctl, DM_DEV_REMOVE, DM_NAME, 0, 0, NULL, &u))
		die("DM_DEV_REMOVE");
	if (refs() != refs0)
		bad(-1, "", 0, "the DEVs' holders and module references as before", "others");
	printf("tables %u accepted %u refused %u (", count, accepted, count - accepted);
	for (int c = 0; c < ACCEPTED; c++)
		printf("%s%s %u", c ? ", " : "", causes[c].name, refused[c]);
	printf(") bad %d\n", nbad);
	rmdir(tmp);
	return nbad != 0;
}
