/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of the rust_dm_delay module: small wrappers of kernel inlines
 * and macros that Rust cannot call, as the kernel's rust/helpers/ are.
 * dm_delay_helpers.c defines them and is linked into rust_dm_delay.ko only;
 * bindgen reads this file through bindings_helper.h.
 */
#ifndef RUST_DM_DELAY_HELPERS_H
#define RUST_DM_DELAY_HELPERS_H

#include <linux/types.h>

struct bio;
struct block_device;

/* bio_set_dev() */
void rust_dm_delay_helper_bio_set_dev(struct bio *bio, struct block_device *bdev);
/* op_is_write(bio_op()) */
bool rust_dm_delay_helper_bio_is_write(const struct bio *bio);
/* cond_resched() */
void rust_dm_delay_helper_cond_resched(void);
/* set_current_state(TASK_INTERRUPTIBLE) */
void rust_dm_delay_helper_set_current_interruptible(void);
/* __set_current_state(TASK_RUNNING) */
void rust_dm_delay_helper_set_current_running(void);

#endif /* RUST_DM_DELAY_HELPERS_H */
