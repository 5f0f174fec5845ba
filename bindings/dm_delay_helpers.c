// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the rust_dm_delay module; see dm_delay_helpers.h. Each one
 * calls the kernel's own inline or macro, so its debug and trace hooks run.
 */

#include <linux/bio.h>
#include <linux/sched.h>

#include "dm_delay_helpers.h"

void rust_dm_delay_helper_bio_set_dev(struct bio *bio, struct block_device *bdev)
{
	bio_set_dev(bio, bdev);
}

bool rust_dm_delay_helper_bio_is_write(const struct bio *bio)
{
	return op_is_write(bio_op(bio));
}

void rust_dm_delay_helper_cond_resched(void)
{
	cond_resched();
}

void rust_dm_delay_helper_set_current_interruptible(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
}

void rust_dm_delay_helper_set_current_running(void)
{
	__set_current_state(TASK_RUNNING);
}
