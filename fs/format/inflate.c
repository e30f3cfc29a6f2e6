/* This file contains the gzip decoder of the layer reader: ISA-L's
 * isal_inflate over a buffer it owns, one member after another, with the
 * gzip header, CRC and length of each checked by ISA-L (ISAL_GZIP). */
#include "format/inflate_i.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>

/* Stored bytes read at once: large enough that a read costs little next
 * to the inflate of it, small enough to stay in L2 with the window. */
#define IN_CHUNK (1u << 17)

struct imgfs_inflate {
	struct inflate_state st;
	int member_open; /* inside a member: its trailer not yet checked */
	int ended;       /* the last member ended and nothing else follows */
	const char *error;
	unsigned char in[IN_CHUNK];
};

struct imgfs_inflate *imgfs_inflate_new(void)
{
	struct imgfs_inflate *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	isal_inflate_init(&z->st);
	z->st.next_in = z->in;
	z->st.avail_in = 0;
	return z;
}

void imgfs_inflate_free(struct imgfs_inflate *z)
{
	free(z);
}

int imgfs_inflate_wants_input(const struct imgfs_inflate *z)
{
	if (z->ended)
		return 0;
	/* a member's start is told by its two magic bytes */
	return z->st.avail_in == 0 || (!z->member_open && z->st.avail_in < 2);
}

void *imgfs_inflate_space(struct imgfs_inflate *z, size_t *cap)
{
	size_t left = z->st.avail_in;

	memmove(z->in, z->st.next_in, left);
	z->st.next_in = z->in;
	*cap = sizeof(z->in) - left;
	return z->in + left;
}

void imgfs_inflate_fill(struct imgfs_inflate *z, size_t n)
{
	z->st.avail_in += (uint32_t)n;
}

int imgfs_inflate_ended(const struct imgfs_inflate *z)
{
	return z->ended;
}

const char *imgfs_inflate_error(const struct imgfs_inflate *z)
{
	return z->error ? z->error : "gzip decoding failed";
}

static const char *reason(int ret)
{
	switch (ret) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid deflate distance";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "gzip member not deflate";
	case ISAL_INCORRECT_CHECKSUM: return "gzip CRC or length mismatch";
	case ISAL_NEED_DICT: return "deflate stream needs a dictionary";
	default: return "gzip decoding failed";
	}
}

/* Starts the member at the unread bytes, or ends the file when they start
 * none (at least two bytes are there, or none will come). */
static void next_member(struct imgfs_inflate *z)
{
	uint8_t *in = z->st.next_in;
	uint32_t avail = z->st.avail_in;

	if (avail < 2 || in[0] != 0x1f || in[1] != 0x8b) {
		/* what follows the last member is ignored, as by libarchive */
		z->ended = 1;
		return;
	}
	isal_inflate_reset(&z->st);
	z->st.next_in = in;
	z->st.avail_in = avail;
	z->st.crc_flag = ISAL_GZIP;
	z->member_open = 1;
}

ssize_t imgfs_inflate_run(struct imgfs_inflate *z, void *out, size_t len, int at_eof)
{
	for (;;) {
		size_t made;
		uint32_t before;
		int ret;

		if (z->ended)
			return 0;
		if (!z->member_open) {
			if (imgfs_inflate_wants_input(z) && !at_eof)
				return 0;
			next_member(z);
			continue;
		}
		before = z->st.avail_in;
		z->st.next_out = out;
		z->st.avail_out = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		ret = isal_inflate(&z->st);
		made = (size_t)(z->st.next_out - (uint8_t *)out);
		if (ret < 0 || ret == ISAL_NEED_DICT) {
			z->error = reason(ret);
			return -EINVAL;
		}
		/* With ISAL_GZIP, igzip checks the trailer and hands back the
		 * whole bytes its bit buffer read past it (tests/check_inflate.c
		 * many_members), so the next member starts at next_in. */
		if (z->st.block_state == ISAL_BLOCK_FINISH) {
			z->member_open = 0;
		}
		if (made)
			return (ssize_t)made;
		if (!z->member_open)
			continue;
		if (z->st.avail_in == 0) {
			if (at_eof) {
				z->error = "truncated gzip input";
				return -EINVAL;
			}
			return 0;
		}
		/* input left, no output, the member not ended: igzip holds
		 * the start of a block header; a call that consumed nothing
		 * would repeat forever */
		if (z->st.avail_in == before) {
			z->error = "gzip decoding made no progress";
			return -EINVAL;
		}
	}
}
