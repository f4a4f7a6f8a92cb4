/*
 * Checkpoint framing; see ckpt.h.
 */
#include "src/ckpt.h"

#include <sodium.h>
#include <stdlib.h>
#include <zstd.h>

#include "src/err.h"

/* Fast, and about 3x on the text and numbers checkpoints mostly hold. */
#define CKPT_ZSTD_LEVEL		3

int
ckpt_frame_build(const void *data, size_t len, uint8_t **frame, size_t *flen,
    uint8_t hash[CKPT_FRAME_HASH_LEN])
{
	ZSTD_CCtx	*cc;
	size_t		 bound = ZSTD_compressBound(len), n;

	*frame = NULL;
	*flen = 0;
	if ((cc = ZSTD_createCCtx()) == NULL)
		return ERR_NOMEM;
	if ((*frame = malloc(bound)) == NULL) {
		ZSTD_freeCCtx(cc);
		return ERR_NOMEM;
	}
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, CKPT_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
	n = ZSTD_compress2(cc, *frame, bound, len > 0 ? data : "", len);
	ZSTD_freeCCtx(cc);
	if (ZSTD_isError(n)) {
		free(*frame);
		*frame = NULL;
		return ERR_INTERNAL;
	}
	*flen = n;
	crypto_generichash(hash, CKPT_FRAME_HASH_LEN, *frame, n, NULL, 0);
	return 0;
}

uint32_t
ckpt_chunk_count(size_t flen)
{
	return flen == 0 ? 1 :
	    (uint32_t)((flen + CKPT_CHUNK_BYTES - 1) / CKPT_CHUNK_BYTES);
}

void
ckpt_chunk_span(size_t flen, uint32_t i, size_t *off, size_t *len)
{
	*off = (size_t)i * CKPT_CHUNK_BYTES;
	if (*off > flen)
		*off = flen;
	*len = flen - *off < CKPT_CHUNK_BYTES ? flen - *off : CKPT_CHUNK_BYTES;
}

void
ckpt_chunk_hash(const void *chunk, size_t len, uint8_t hash[CKPT_CHUNK_HASH_LEN])
{
	crypto_generichash(hash, CKPT_CHUNK_HASH_LEN, chunk, len, NULL, 0);
}
