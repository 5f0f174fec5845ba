/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the test tools that drive dm without dmsetup's process
 * per call (fault-sweep.c, dm-tables.c): the device-mapper control ioctls,
 * as dmsetup issues them (include/uapi/linux/dm-ioctl.h), and the count of
 * references a table leaves behind.
 */
#ifndef DM_COMMON_H
#define DM_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

/* An ioctl's header and data area. */
union dm_buf {
	struct dm_ioctl io;
	char buf[16384];
};

/*
 * Issues @cmd on the control device @ctl for the dm device @name, with
 * @flags. With @params, the data is one "delay" target of @len sectors and
 * those parameters. Returns 0 or the errno value; @u holds the answer.
 */
static inline int dm_call(int ctl, unsigned long cmd, const char *name, __u32 flags,
			  unsigned long long len, const char *params, union dm_buf *u)
{
	struct dm_target_spec *spec = (void *)(u->buf + sizeof(u->io));

	memset(u, 0, sizeof(u->io) + sizeof(*spec));
	u->io.version[0] = DM_VERSION_MAJOR;
	u->io.data_size = sizeof(*u);
	u->io.data_start = sizeof(u->io);
	u->io.flags = flags;
	snprintf(u->io.name, sizeof(u->io.name), "%s", name);
	if (params) {
		u->io.target_count = 1;
		spec->length = len;
		strcpy(spec->target_type, "delay");
		snprintf((char *)(spec + 1), sizeof(*u) - sizeof(u->io) - sizeof(*spec), "%s", params);
	}
	return ioctl(ctl, cmd, u) ? errno : 0;
}

/*
 * The parameters of the one target in the answer to DM_TABLE_STATUS, or
 * NULL if there is none.
 */
static inline const char *dm_target_params(const union dm_buf *u)
{
	const struct dm_target_spec *spec = (const void *)(u->buf + u->io.data_start);

	if (u->io.flags & DM_BUFFER_FULL_FLAG || u->io.target_count != 1)
		return NULL;
	return (const char *)(spec + 1);
}

/*
 * The holders of the block devices @devnos[0..@n) plus rust_dm_delay's
 * reference count (0 when it is not loaded); -1 if a device has no holders
 * directory.
 */
static inline int dm_refs(const dev_t *devnos, int n)
{
	char p[128];
	int refs = 0, r;
	FILE *f;

	for (int i = 0; i < n; i++) {
		struct dirent *e;
		DIR *d;

		snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/holders", major(devnos[i]),
			 minor(devnos[i]));
		d = opendir(p);
		if (!d)
			return -1;
		while ((e = readdir(d)))
			refs += e->d_name[0] != '.';
		closedir(d);
	}
	f = fopen("/sys/module/rust_dm_delay/refcnt", "r");
	if (f) {
		if (fscanf(f, "%d", &r) == 1)
			refs += r;
		fclose(f);
	}
	return refs;
}

#endif
