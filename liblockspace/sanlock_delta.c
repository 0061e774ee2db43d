/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_delta.c: read a host id's delta lease (its leader record) from a sanlock lockspace lease. */
#ifdef HAVE_SANLOCK
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanlock_delta.h"

/*
 * sanlock's on-disk leader record (src/leader.h), little-endian. In the
 * lockspace lease, host id N's record is the first bytes of sector N-1; its
 * owner_id is N and its resource_name the name of the daemon that last
 * took the id.
 */
#define SL_DELTA_MAGIC	  0x12212010u
#define SL_DELTA_MAJOR	  0x00030000u
#define SL_NAME_LEN	  48
#define SL_CHECKSUM_LEN	  168  /* the bytes the checksum covers */
#define SL_BLOCK	  4096 /* aligned for O_DIRECT on 512 and 4096-byte sectors */
#define SL_LOCKSPACE_FILE ".lockspace.lease"

struct sl_leader {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t sector_size;
	uint64_t num_hosts;
	uint64_t max_hosts;
	uint64_t owner_id;
	uint64_t owner_generation;
	uint64_t lver;
	char space_name[SL_NAME_LEN];
	char resource_name[SL_NAME_LEN];
	uint64_t timestamp;
	uint64_t unused1;
	uint32_t checksum;
	uint16_t unused2;
	uint16_t io_timeout;
};
_Static_assert(offsetof(struct sl_leader, checksum) == SL_CHECKSUM_LEN, "sanlock's leader layout");

/* CRC-32C (Castagnoli), as sanlock computes it: seed ~1, no final inversion. */
static uint32_t sl_crc32c(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return crc;
}

/* Read the 4 KiB block at @off of @fd into @buf (aligned). */
static int sl_read_block(int fd, off_t off, unsigned char *buf)
{
	ssize_t got;
	do
		got = pread(fd, buf, SL_BLOCK, off);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	return got == SL_BLOCK ? 0 : -EBADMSG;
}

int lsi_delta_read(const struct lockspace *ls, unsigned host_id, struct lsi_delta *out)
{
	if (host_id < 1 || host_id > 2000)
		return -EINVAL;
	int fd = openat(ls->dirfd, SL_LOCKSPACE_FILE, O_RDONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) /* a filesystem without O_DIRECT: sanlock could not use it either */
		fd = openat(ls->dirfd, SL_LOCKSPACE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unsigned char *buf = NULL;
	if (posix_memalign((void **)&buf, SL_BLOCK, SL_BLOCK) != 0) {
		close(fd);
		return -ENOMEM;
	}
	/* Host 1's record, at offset 0, gives the sector size of them all. */
	int err = sl_read_block(fd, 0, buf);
	struct sl_leader lr;
	if (!err) {
		memcpy(&lr, buf, sizeof(lr));
		uint32_t sector = le32toh(lr.sector_size) == 4096 ? 4096 : 512;
		off_t at = (off_t)(host_id - 1) * sector;
		off_t block = at & ~(off_t)(SL_BLOCK - 1);
		if (block)
			err = sl_read_block(fd, block, buf);
		if (!err)
			memcpy(&lr, buf + (at - block), sizeof(lr));
	}
	close(fd);
	free(buf);
	if (err)
		return err;
	if (le32toh(lr.magic) != SL_DELTA_MAGIC || (le32toh(lr.version) & 0xffff0000u) != SL_DELTA_MAJOR ||
	    strncmp(lr.space_name, ls->backend_config, SL_NAME_LEN) != 0 ||
	    sl_crc32c(~1u, (const unsigned char *)&lr, SL_CHECKSUM_LEN) != le32toh(lr.checksum))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	memcpy(out->host_name, lr.resource_name, SL_NAME_LEN);
	out->host_name[SL_NAME_LEN] = '\0';
	out->generation = le64toh(lr.owner_generation);
	out->timestamp = le64toh(lr.timestamp);
	out->io_timeout = le16toh(lr.io_timeout);
	return 0;
}
#endif
