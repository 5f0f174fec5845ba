// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation-failure sweep: for n = FIRST, FIRST + STEP, ..., makes the n-th
 * fault-injection point that one step reaches fail (/proc/thread-self/
 * fail-nth, Documentation/fault-injection/fault-injection.rst), until a
 * step runs with no failure injected. Which points count (failslab,
 * fail_page_alloc) is set up in debugfs by the caller.
 *
 *   fault-sweep [-f FIRST] [-s STEP] table LEN PARAMS
 *       the step: DM_TABLE_LOAD of "0 LEN delay PARAMS" into a new device,
 *       and the resume that activates it (dmsetup create's two ioctls for a
 *       table)
 *   fault-sweep [-f FIRST] [-s STEP] insmod FILE [LEN PARAMS]
 *       the step: finit_module() of FILE
 *
 * After every attempt it checks what a user would see. A step that succeeds
 * must work: a table takes a 4 KiB O_DIRECT write that reads back from its
 * write device (PARAMS' 4th and 5th words, else its 1st and 2nd, given as
 * paths), a module is live (a livepatch enabled) and unloads. A step that
 * fails must return an errno and leave nothing behind: no module, no
 * livepatch. Either way, after the device is removed, no device of PARAMS
 * has a holder, and rust_dm_delay's reference count is 0.
 *
 * Every broken attempt is printed ("broken: n=N ..."), and every failure
 * with an errno other than ENOMEM ("failed: n=N ERRNO"); the last line is
 * "points P attempts A failed F absorbed B broken X errnos E...": P failure
 * points, A attempts with a failure injected, F of them returned an error,
 * B succeeded anyway (the kernel absorbed the failure). Exits 1 if an
 * attempt was broken.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dm_common.h"

#define DM_NAME "fault-sweep"
#define DM_NODE "/tmp/fault-sweep-dm"

static int nth_fd, ctl_fd = -1, broken;
static char *len, *params;
static char *devs[3];
static unsigned long long woffset;

static void die(const char *what)
{
	fprintf(stderr, "fault-sweep: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Says in the kernel log which attempt the lines before belong to. */
static void kmsg(unsigned int n, const char *what)
{
	FILE *f = fopen("/dev/kmsg", "w");

	if (f) {
		fprintf(f, "fault-sweep: n=%u: %s\n", n, what);
		fclose(f);
	}
}

static void bad(unsigned int n, const char *what)
{
	printf("broken: n=%u %s\n", n, what);
	kmsg(n, what);
	broken = 1;
}

/* Opens the fault window at the n-th point (n = 0 closes it). */
static void set_nth(unsigned int n)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", n);
	if (pwrite(nth_fd, s, strlen(s), 0) < 0)
		die("writing fail-nth");
}

/*
 * Closes the window; returns what was left of n: 0 if the failure was
 * injected, else n minus the points the step passed.
 */
static unsigned int left(void)
{
	char s[16] = "";

	if (pread(nth_fd, s, sizeof(s) - 1, 0) <= 0)
		die("reading fail-nth");
	set_nth(0);
	return atoi(s);
}

/* An ioctl on the dm control device for DM_NAME; 0 or the errno value. */
static int dm(unsigned long cmd, int with_table, dev_t *dev)
{
	static union dm_buf u;
	int err = dm_call(ctl_fd, cmd, DM_NAME, 0, strtoull(len, NULL, 0),
			  with_table ? params : NULL, &u);

	if (!err && dev)
		*dev = u.io.dev;
	return err;
}

/* A 4 KiB O_DIRECT write through the target reads back from its write device. */
static int io_works(dev_t dev)
{
	char *w, *r;
	int fd, ok = 0;

	if (posix_memalign((void **)&w, 4096, 4096) || posix_memalign((void **)&r, 4096, 4096))
		die("posix_memalign");
	for (int i = 0; i < 4096; i++)
		w[i] = rand();
	unlink(DM_NODE);
	if (mknod(DM_NODE, S_IFBLK | 0600, dev))
		die("mknod");
	fd = open(DM_NODE, O_RDWR | O_DIRECT);
	if (fd >= 0 && pwrite(fd, w, 4096, 0) == 4096 && !fsync(fd)) {
		close(fd);
		fd = open(devs[devs[1] ? 1 : 0], O_RDONLY | O_DIRECT);
		ok = fd >= 0 && pread(fd, r, 4096, woffset * 512) == 4096 && !memcmp(w, r, 4096);
	}
	if (fd >= 0)
		close(fd);
	unlink(DM_NODE);
	free(w);
	free(r);
	return ok;
}

/* True if nothing holds the devices of PARAMS and rust_dm_delay is unused. */
static int released(void)
{
	dev_t devnos[3];
	struct stat st;
	int n, refs;

	for (n = 0; n < 3 && devs[n]; n++) {
		if (stat(devs[n], &st))
			die(devs[n]);
		devnos[n] = st.st_rdev;
	}
	refs = dm_refs(devnos, n);
	if (refs < 0)
		die("a holders directory");
	return refs == 0;
}

/* One attempt of the table step; returns left(). */
static unsigned int table_attempt(unsigned int n, int *err)
{
	unsigned int l;
	dev_t dev = 0;

	*err = dm(DM_DEV_CREATE, 0, NULL);
	if (*err)
		die("DM_DEV_CREATE");
	set_nth(n);
	*err = dm(DM_TABLE_LOAD, 1, NULL);
	if (!*err)
		*err = dm(DM_DEV_SUSPEND, 0, &dev);
	l = left();
	if (!*err && !io_works(dev))
		bad(n, "the table was loaded, but I/O through it failed or read back wrong");
	if (dm(DM_DEV_REMOVE, 0, NULL))
		bad(n, "the device could not be removed");
	if (!released())
		bad(n, "a device is still held, or rust_dm_delay is still in use");
	return l;
}

static int loaded(const char *name)
{
	char line[256];
	size_t l = strlen(name);
	FILE *f = fopen("/proc/modules", "r");
	int found = 0;

	if (!f)
		die("/proc/modules");
	while (fgets(line, sizeof(line), f))
		found |= !strncmp(line, name, l) && line[l] == ' ';
	fclose(f);
	return found;
}

/* Disables the livepatch NAME, if there is one, and waits until it is gone. */
static int livepatch_off(const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "/sys/kernel/livepatch/%s/enabled", name);
	fd = open(p, O_WRONLY);
	if (fd < 0)
		return errno == ENOENT;
	if (write(fd, "0", 1) != 1)
		die(p);
	close(fd);
	*strrchr(p, '/') = 0;
	for (int i = 0; i < 300 && !access(p, F_OK); i++)
		usleep(100000);
	return access(p, F_OK) != 0;
}

/* One attempt of the insmod step; returns left(). */
static unsigned int insmod_attempt(unsigned int n, const char *file, int *err)
{
	char *name = strdup(basename(strdupa(file))), lp[256];
	int fd = open(file, O_RDONLY), unused, i;
	unsigned int l;

	if (fd < 0)
		die(file);
	*strstr(name, ".ko") = 0;
	set_nth(n);
	*err = syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
	l = left();
	close(fd);
	snprintf(lp, sizeof(lp), "/sys/kernel/livepatch/%s", name);
	if (!*err) {
		if (!loaded(name))
			bad(n, "finit_module succeeded, but the module is not listed");
		if (params && (table_attempt(0, &unused), unused))
			bad(n, "the module loaded, but a table of it does not");
		if (!livepatch_off(name))
			bad(n, "the livepatch did not disable");
		/* A disabled livepatch drops its module reference a little later. */
		for (i = 0; syscall(SYS_delete_module, name, O_NONBLOCK) && i < 100; i++)
			usleep(100000);
		if (i == 100)
			bad(n, "the module does not unload");
	}
	if (loaded(name) || !access(lp, F_OK))
		bad(n, "the module or its livepatch is left behind");
	free(name);
	return l;
}

int main(int argc, char **argv)
{
	unsigned int first = 1, step = 1, n, l, attempts = 0, failed = 0, absorbed = 0;
	char errnos[1024] = "";
	int opt, err;

	while ((opt = getopt(argc, argv, "f:s:")) != -1) {
		if (opt == 'f')
			first = atoi(optarg);
		else if (opt == 's')
			step = atoi(optarg);
		else
			goto usage;
	}
	argv += optind;
	argc -= optind;
	if (argc == 3 && !strcmp(argv[0], "table")) {
		len = argv[1];
		params = argv[2];
	} else if ((argc == 2 || argc == 4) && !strcmp(argv[0], "insmod")) {
		len = argc == 4 ? argv[2] : NULL;
		params = argc == 4 ? argv[3] : NULL;
	} else {
usage:
		fprintf(stderr, "usage: fault-sweep [-f FIRST] [-s STEP] table LEN PARAMS\n"
				"       fault-sweep [-f FIRST] [-s STEP] insmod FILE [LEN PARAMS]\n");
		return 2;
	}
	if (params) {
		char *w[9] = {}, *s = strdupa(params);

		for (int i = 0; i < 9 && (w[i] = strtok(i ? NULL : s, " ")); i++)
			;
		devs[0] = w[0];
		devs[1] = w[3];
		devs[2] = w[6];
		woffset = strtoull(w[devs[1] ? 4 : 1], NULL, 0);
		ctl_fd = open("/dev/mapper/control", O_RDWR);
		if (ctl_fd < 0)
			die("/dev/mapper/control");
	}
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0)
		die("/proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION?)");

	for (n = first;; n += step) {
		l = argv[0][0] == 't' ? table_attempt(n, &err) : insmod_attempt(n, argv[1], &err);
		if (l)
			break;
		attempts++;
		if (err) {
			const char *e = strerrorname_np(err);

			failed++;
			if (err != ENOMEM) {
				printf("failed: n=%u %s\n", n, e);
				kmsg(n, e);
			}
			if (!strstr(errnos, e))
				snprintf(errnos + strlen(errnos), sizeof(errnos) - strlen(errnos),
					 " %s", e);
		} else {
			absorbed++;
		}
	}
	if (err)
		bad(n, "the step failed with no failure injected");
	printf("points %u attempts %u failed %u absorbed %u broken %d errnos%s\n", n - l, attempts,
	       failed, absorbed, broken, errnos[0] ? errnos : " none");
	return broken;
}
