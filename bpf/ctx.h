/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One context for both hooks, so parsing, rewriting and the NAT itself are
 * written once. Every function is always-inline and each entry program
 * passes a constant `xdp`, so the compiler drops the other hook's branch
 * and the verifier only ever sees helpers of the program's own type.
 */
#ifndef SHARENAT_BPF_CTX_H
#define SHARENAT_BPF_CTX_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct nat_ctx {
	void *ctx;		/* struct __sk_buff * or struct xdp_md * */
	bool xdp;
};

static __always_inline long ctx_load(const struct nat_ctx *c, __u32 off,
				     void *to, __u32 len)
{
	if (c->xdp)
		return bpf_xdp_load_bytes(c->ctx, off, to, len);
	return bpf_skb_load_bytes(c->ctx, off, to, len);
}

static __always_inline long ctx_store(const struct nat_ctx *c, __u32 off,
				      const void *from, __u32 len)
{
	if (c->xdp)
		return bpf_xdp_store_bytes(c->ctx, off, (void *)from, len);
	return bpf_skb_store_bytes(c->ctx, off, from, len, 0);
}

/* Where the packet's linear data starts and ends. */
static __always_inline void ctx_data(const struct nat_ctx *c, void **data,
				     void **end)
{
	if (c->xdp) {
		*data = (void *)(long)((struct xdp_md *)c->ctx)->data;
		*end = (void *)(long)((struct xdp_md *)c->ctx)->data_end;
	} else {
		*data = (void *)(long)((struct __sk_buff *)c->ctx)->data;
		*end = (void *)(long)((struct __sk_buff *)c->ctx)->data_end;
	}
}

/*
 * The linear data as clang is to see it: word-aligned. Told nothing, clang
 * copies packet bytes one at a time (the BPF target assumes no unaligned
 * access), and the words then read back from those bytes stall the CPU's
 * store forwarding: ~15 ns a packet at XDP egress. The headers sit 2
 * bytes off a word (behind the 14-byte Ethernet header), which costs
 * nothing where the kernel lets a program access packets unaligned
 * (CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS: x86-64, arm64) and the verifier
 * accepts there; only the stack must be aligned, and it is by type.
 */
static __always_inline void *packet_words(void *at)
{
	return __builtin_assume_aligned(at, 4);
}

/* Every MAC the programs copy or compare sits at an even offset (in the
 * frame and in the structs: rewrite.h asserts it), so it is handled as
 * three 16-bit words instead of six bytes. */
#define MAC_WORDS(mac) ((const __u16 *)__builtin_assume_aligned(mac, 2))

/* ctx_load without a helper call when the bytes lie in the linear data,
 * as a small frame's headers always do; a GSO, paged or multi-buffer
 * frame's may not, and take the helper. len must be a constant. */
static __always_inline long ctx_load_fast(const struct nat_ctx *c, __u32 off,
					  void *to, const __u32 len)
{
	void *data, *end;

	ctx_data(c, &data, &end);
	if (off <= 0xff && data + off + len <= end) {
		__builtin_memcpy(to, packet_words(data + off), len);
		return 0;
	}
	return ctx_load(c, off, to, len);
}

/* The len bytes at off, to read or write: a pointer into the linear data
 * where they lie there, else a copy in buf made by the helper; NULL if the
 * frame is too short. Used in place, a header is never copied to the stack
 * and back field by field (see packet_words). A writer ends with
 * ctx_view_store. len must be a constant. */
static __always_inline void *ctx_view(const struct nat_ctx *c, __u32 off,
				      void *buf, const __u32 len)
{
	void *data, *end;

	ctx_data(c, &data, &end);
	if (off <= 0xff && data + off + len <= end)
		return packet_words(data + off);
	return ctx_load(c, off, buf, len) ? NULL : buf;
}

/* After writing through ctx_view(c, off, buf, len): a copy in buf goes
 * back into the frame (a view in place needs nothing). 0, or -1. */
static __always_inline int ctx_view_store(const struct nat_ctx *c, __u32 off,
					  const void *view, const void *buf,
					  const __u32 len)
{
	if (view != buf)
		return 0;
	return ctx_store(c, off, buf, len) ? -1 : 0;
}

/* ctx_store likewise. A direct write leaves a CHECKSUM_COMPLETE skb->csum
 * as it was: only for changes that keep the packet's sum, a field and the
 * checksum that covers it together. (At tc the verifier has the skb made
 * writable before the program runs.) */
static __always_inline long ctx_store_fast(const struct nat_ctx *c, __u32 off,
					   const void *from, const __u32 len)
{
	void *data, *end;

	ctx_data(c, &data, &end);
	if (off <= 0xff && data + off + len <= end) {
		__builtin_memcpy(packet_words(data + off), from, len);
		return 0;
	}
	return ctx_store(c, off, from, len);
}

/* The frame's length. The XDP programs are not frags-aware (SEC("xdp"),
 * not "xdp.frags"), so the kernel never hands them a multi-buffer frame:
 * the linear data is the whole frame, and no helper call is needed. */
static __always_inline __u32 ctx_len(const struct nat_ctx *c)
{
	void *data, *end;

	if (!c->xdp)
		return ((struct __sk_buff *)c->ctx)->len;
	ctx_data(c, &data, &end);
	return (__u32)(end - data);
}

static __always_inline __u32 ctx_ifindex(const struct nat_ctx *c)
{
	if (c->xdp)
		return ((struct xdp_md *)c->ctx)->ingress_ifindex;
	return ((struct __sk_buff *)c->ctx)->ifindex;
}

#endif /* SHARENAT_BPF_CTX_H */
