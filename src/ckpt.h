/*
 * Checkpoint framing, shared by the worker that sends a checkpoint and the
 * tools that measure the path: a checkpoint travels as one zstd frame
 * (content size and checksum in it), cut into chunks of CKPT_CHUNK_BYTES,
 * each with a BLAKE2b-128 hash of its bytes, under a BLAKE2b-256 hash of
 * the whole frame.  The coordinator checks each chunk's hash on arrival
 * and the frame's hash when the last chunk commits it (src/fsm.c).
 */
#ifndef SRC_CKPT_H
#define SRC_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_CHUNK_BYTES	((size_t)1 << 20)
#define CKPT_FRAME_HASH_LEN	32
#define CKPT_CHUNK_HASH_LEN	16

/* Compresses len bytes of data (zstd level 3, with the content size and a
 * checksum in the frame) and hashes the frame.  0 with *frame (caller
 * frees) and *flen; ERR_NOMEM or ERR_INTERNAL. */
int	ckpt_frame_build(const void *data, size_t len, uint8_t **frame,
	    size_t *flen, uint8_t hash[CKPT_FRAME_HASH_LEN]);

/* How many chunks a frame of flen bytes travels in (at least 1). */
uint32_t ckpt_chunk_count(size_t flen);

/* Chunk i of a frame of flen bytes: its offset and length. */
void	ckpt_chunk_span(size_t flen, uint32_t i, size_t *off, size_t *len);

/* The hash a chunk travels with. */
void	ckpt_chunk_hash(const void *chunk, size_t len,
	    uint8_t hash[CKPT_CHUNK_HASH_LEN]);

#endif /* SRC_CKPT_H */
