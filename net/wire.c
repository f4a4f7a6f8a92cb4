/*
 * msgpack helpers.  Writing packs through msgpack-c into our own growable
 * buffer so an allocation failure is recorded instead of lost; reading
 * unpacks one object into a zone and hands out const views of it.
 */
#include "net/wire.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/strs.h"

struct wire_writer {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	int		 failed;	/* sticky ERR_NOMEM */
};

struct wire_doc {
	msgpack_unpacked	 up;
};

/* Where the last lookup in a map found its key: decoders read fields in the
 * order encoders wrote them, so the next key is usually the next entry and
 * a lookup costs one comparison instead of a scan. */
static _Thread_local const msgpack_object	*wire_hint_map;
static _Thread_local uint32_t			 wire_hint_next;

static bool	wire_grow(struct wire_writer *w, size_t n);

/* Makes room for n more bytes; false (and sticky ERR_NOMEM) if it cannot. */
static inline bool
wire_reserve(struct wire_writer *w, size_t n)
{
	return w->len + n <= w->cap ? w->failed == 0 : wire_grow(w, n);
}

static bool
wire_grow(struct wire_writer *w, size_t n)
{
	size_t	 cap;
	uint8_t	*p;

	if (w->failed)
		return false;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	if ((p = realloc(w->data, cap)) == NULL) {
		w->failed = ERR_NOMEM;
		return false;
	}
	w->data = p;
	w->cap = cap;
	return true;
}

/* Appends a type byte and the low nbytes of v, big-endian.  Room must have
 * been reserved. */
static inline void
wire_put_tagged(struct wire_writer *w, uint8_t tag, uint64_t v, int nbytes)
{
	int	 i;

	w->data[w->len++] = tag;
	for (i = nbytes - 1; i >= 0; i--)
		w->data[w->len++] = (uint8_t)(v >> (8 * i));
}

/* A header of a string, binary or container: the fix form when small
 * (fixbase | n, below fixlimit), else the 8-, 16- or 32-bit length form
 * whose type bytes are t8 (0 if there is none), t16 and t32. */
static inline void
wire_put_header(struct wire_writer *w, uint64_t n, uint8_t fixbase, uint64_t fixlimit,
    uint8_t t8, uint8_t t16, uint8_t t32)
{
	if (!wire_reserve(w, 5))
		return;
	if (fixbase != 0 && n < fixlimit)
		w->data[w->len++] = (uint8_t)(fixbase | n);
	else if (t8 != 0 && n <= UINT8_MAX)
		wire_put_tagged(w, t8, n, 1);
	else if (n <= UINT16_MAX)
		wire_put_tagged(w, t16, n, 2);
	else
		wire_put_tagged(w, t32, n, 4);
}

struct wire_writer *
wire_writer_new(void)
{
	return calloc(1, sizeof(struct wire_writer));
}

void
wire_writer_free(struct wire_writer *w)
{
	if (w == NULL)
		return;
	free(w->data);
	free(w);
}

const void *
wire_writer_data(const struct wire_writer *w, size_t *len)
{
	*len = w->len;
	return w->data;
}

int
wire_writer_take(struct wire_writer *w, void **buf, size_t *len)
{
	if (w->failed)
		return w->failed;
	if (w->data == NULL && (w->data = malloc(1)) == NULL)
		return ERR_NOMEM;
	*buf = w->data;
	*len = w->len;
	w->data = NULL;
	w->len = w->cap = 0;
	return 0;
}

int
wire_writer_error(const struct wire_writer *w)
{
	return w->failed;
}

/*
 * Encoding writes msgpack directly into the buffer, one capacity check per
 * value: msgpack-c's packer calls its write callback for every header and
 * body separately, which was a fifth of the state machine's time when it
 * stored a batch of submissions.  The bytes are the smallest msgpack form of
 * each value, as msgpack-c writes them; decoding still uses msgpack-c.
 */

void
wire_put_map(struct wire_writer *w, uint32_t n)
{
	wire_put_header(w, n, 0x80, 16, 0, 0xde, 0xdf);
}

void
wire_put_array(struct wire_writer *w, uint32_t n)
{
	wire_put_header(w, n, 0x90, 16, 0, 0xdc, 0xdd);
}

void
wire_put_nil(struct wire_writer *w)
{
	if (wire_reserve(w, 1))
		w->data[w->len++] = 0xc0;
}

void
wire_put_bool(struct wire_writer *w, bool b)
{
	if (wire_reserve(w, 1))
		w->data[w->len++] = b ? 0xc3 : 0xc2;
}

void
wire_put_uint(struct wire_writer *w, uint64_t u)
{
	if (!wire_reserve(w, 9))
		return;
	if (u < 128)
		w->data[w->len++] = (uint8_t)u;
	else if (u <= UINT8_MAX)
		wire_put_tagged(w, 0xcc, u, 1);
	else if (u <= UINT16_MAX)
		wire_put_tagged(w, 0xcd, u, 2);
	else if (u <= UINT32_MAX)
		wire_put_tagged(w, 0xce, u, 4);
	else
		wire_put_tagged(w, 0xcf, u, 8);
}

void
wire_put_int(struct wire_writer *w, int64_t i)
{
	if (i >= 0) {
		wire_put_uint(w, (uint64_t)i);
		return;
	}
	if (!wire_reserve(w, 9))
		return;
	if (i >= -32)
		w->data[w->len++] = (uint8_t)(int8_t)i;
	else if (i >= INT8_MIN)
		wire_put_tagged(w, 0xd0, (uint64_t)i, 1);
	else if (i >= INT16_MIN)
		wire_put_tagged(w, 0xd1, (uint64_t)i, 2);
	else if (i >= INT32_MIN)
		wire_put_tagged(w, 0xd2, (uint64_t)i, 4);
	else
		wire_put_tagged(w, 0xd3, (uint64_t)i, 8);
}

void
wire_put_double(struct wire_writer *w, double d)
{
	uint64_t	 bits;

	memcpy(&bits, &d, sizeof bits);
	if (wire_reserve(w, 9))
		wire_put_tagged(w, 0xcb, bits, 8);
}

void
wire_put_strn(struct wire_writer *w, const char *s, size_t len)
{
	/* The common case, a short string: one check, one copy. */
	if (len < 32 && wire_reserve(w, len + 1)) {
		w->data[w->len++] = (uint8_t)(0xa0 | len);
		memcpy(w->data + w->len, s, len);
		w->len += len;
		return;
	}
	wire_put_header(w, len, 0xa0, 32, 0xd9, 0xda, 0xdb);
	if (wire_reserve(w, len)) {
		memcpy(w->data + w->len, s, len);
		w->len += len;
	}
}

void
wire_put_bin(struct wire_writer *w, const void *p, size_t len)
{
	wire_put_header(w, len, 0, 0, 0xc4, 0xc5, 0xc6);
	if (wire_reserve(w, len)) {
		memcpy(w->data + w->len, p, len);
		w->len += len;
	}
}

void
wire_put_strlist(struct wire_writer *w, const struct strlist *l)
{
	size_t	 i;

	wire_put_array(w, (uint32_t)l->n);
	for (i = 0; i < l->n; i++)
		wire_put_str(w, l->v[i]);
}

void
wire_put_tagset(struct wire_writer *w, const struct tagset *t)
{
	size_t	 i;

	wire_put_map(w, (uint32_t)t->n);
	for (i = 0; i < t->n; i++) {
		wire_put_str(w, t->v[i].key);
		wire_put_str(w, t->v[i].value);
	}
}

/* Reads the n-byte big-endian length at p[0..n). */
static uint64_t
wire_be(const uint8_t *p, size_t n)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Walks the msgpack framing of buf without building anything, and fails if
 * it is truncated, has trailing bytes, or declares a container with more
 * elements than bytes left to hold them.  msgpack-c allocates a container's
 * element array from its declared count before reading any element, so five
 * hostile bytes (an array32 header) would otherwise cost gigabytes; after
 * this check an allocation is bounded by a small multiple of len.
 */
static int
wire_framing_check(const uint8_t *buf, size_t len)
{
	size_t		 off = 0, hdr, lenbytes;
	uint64_t	 pending = 1, n, payload;
	uint8_t		 b;

	while (pending > 0) {
		if (off >= len)
			return ERR_PROTO;
		b = buf[off++];
		pending--;
		hdr = 0;		/* fixed bytes after the type byte */
		lenbytes = 0;		/* size of a length field that follows */
		n = 0;			/* elements a container adds */
		payload = 0;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
		    b == 0xc3)
			;
		else if (b <= 0x8f)
			n = 2 * (uint64_t)(b & 0x0f);
		else if (b <= 0x9f)
			n = b & 0x0f;
		else if (b <= 0xbf)
			payload = b & 0x1f;
		else {
			switch (b) {
			case 0xc4: case 0xd9: lenbytes = 1; break;	/* bin8, str8 */
			case 0xc5: case 0xda: lenbytes = 2; break;
			case 0xc6: case 0xdb: lenbytes = 4; break;
			case 0xc7: lenbytes = 1; hdr = 1; break;	/* ext: +type */
			case 0xc8: lenbytes = 2; hdr = 1; break;
			case 0xc9: lenbytes = 4; hdr = 1; break;
			case 0xca: hdr = 4; break;
			case 0xcb: hdr = 8; break;
			case 0xcc: case 0xd0: hdr = 1; break;
			case 0xcd: case 0xd1: hdr = 2; break;
			case 0xce: case 0xd2: hdr = 4; break;
			case 0xcf: case 0xd3: hdr = 8; break;
			case 0xd4: hdr = 2; break;			/* fixext: type + data */
			case 0xd5: hdr = 3; break;
			case 0xd6: hdr = 5; break;
			case 0xd7: hdr = 9; break;
			case 0xd8: hdr = 17; break;
			case 0xdc: case 0xde: lenbytes = 2; break;	/* array16, map16 */
			case 0xdd: case 0xdf: lenbytes = 4; break;
			default:
				return ERR_PROTO;			/* 0xc1 */
			}
		}
		if (lenbytes != 0) {
			if (len - off < lenbytes)
				return ERR_PROTO;
			n = wire_be(buf + off, lenbytes);
			off += lenbytes;
			if (b >= 0xdc) {
				if (b >= 0xde)
					n *= 2;		/* a key and a value each */
			} else {
				payload = n;
				n = 0;
			}
		}
		if (len - off < hdr)
			return ERR_PROTO;
		off += hdr;
		if (len - off < payload)
			return ERR_PROTO;
		off += (size_t)payload;
		/* Every element still owed needs at least one byte. */
		if (n > len - off || pending + n > len - off)
			return ERR_PROTO;
		pending += n;
	}
	return off == len ? 0 : ERR_PROTO;
}

int
wire_doc_decode(struct wire_doc **out, const void *buf, size_t len)
{
	struct wire_doc		*d;
	size_t			 off = 0;
	msgpack_unpack_return	 ret;

	if (wire_framing_check(buf, len) != 0)
		return ERR_PROTO;
	/* A lookup must depend only on this document and the lookups made
	 * in it (with duplicate keys, the hint decides which one is found):
	 * nodes decoding the same entry must agree. */
	wire_hint_map = NULL;
	if ((d = calloc(1, sizeof *d)) == NULL)
		return ERR_NOMEM;
	msgpack_unpacked_init(&d->up);
	ret = msgpack_unpack_next(&d->up, buf, len, &off);
	if (ret == MSGPACK_UNPACK_NOMEM_ERROR) {
		wire_doc_free(d);
		return ERR_NOMEM;
	}
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len) {
		wire_doc_free(d);
		return ERR_PROTO;
	}
	*out = d;
	return 0;
}

void
wire_doc_free(struct wire_doc *d)
{
	if (d == NULL)
		return;
	msgpack_unpacked_destroy(&d->up);
	free(d);
}

static const msgpack_object *
wire_obj(const struct wire_val *v)
{
	return (const msgpack_object *)(const void *)v;
}

static const struct wire_val *
wire_val_of(const msgpack_object *o)
{
	return (const struct wire_val *)(const void *)o;
}

const struct wire_val *
wire_doc_root(const struct wire_doc *d)
{
	return wire_val_of(&d->up.data);
}

enum wire_type
wire_val_type(const struct wire_val *v)
{
	if (v == NULL)
		return WIRE_NIL;
	switch (wire_obj(v)->type) {
	case MSGPACK_OBJECT_NIL:
		return WIRE_NIL;
	case MSGPACK_OBJECT_BOOLEAN:
		return WIRE_BOOL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return WIRE_UINT;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return WIRE_INT;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return WIRE_DOUBLE;
	case MSGPACK_OBJECT_STR:
		return WIRE_STR;
	case MSGPACK_OBJECT_BIN:
		return WIRE_BIN;
	case MSGPACK_OBJECT_ARRAY:
		return WIRE_ARRAY;
	case MSGPACK_OBJECT_MAP:
		return WIRE_MAP;
	default:
		return WIRE_OTHER;
	}
}


static inline bool
wire_key_is(const msgpack_object *k, const char *key, size_t klen)
{
	const char	*p = k->via.str.ptr;
	size_t		 i;

	if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != klen)
		return false;
	/* Record keys are a few bytes: a loop beats a call to memcmp. */
	for (i = 0; i < klen; i++)
		if (p[i] != key[i])
			return false;
	return true;
}

const struct wire_val *
wire_map_get(const struct wire_val *v, const char *key)
{
	const msgpack_object	*o = wire_obj(v);
	const msgpack_object_kv	*kv;
	size_t			 klen = strlen(key);
	uint32_t		 i, start, size;

	if (v == NULL || o->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size = o->via.map.size;
	start = wire_hint_map == o && wire_hint_next < size ? wire_hint_next : 0;
	for (i = 0; i < size; i++) {
		kv = &o->via.map.ptr[(start + i) % size];
		if (!wire_key_is(&kv->key, key, klen))
			continue;
		wire_hint_map = o;
		wire_hint_next = (start + i + 1) % size;
		if (kv->val.type == MSGPACK_OBJECT_NIL)
			return NULL;
		return wire_val_of(&kv->val);
	}
	return NULL;
}

uint32_t
wire_len(const struct wire_val *v)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL)
		return 0;
	if (o->type == MSGPACK_OBJECT_MAP)
		return o->via.map.size;
	if (o->type == MSGPACK_OBJECT_ARRAY)
		return o->via.array.size;
	return 0;
}

const struct wire_val *
wire_array_at(const struct wire_val *v, uint32_t i)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_ARRAY || i >= o->via.array.size)
		return NULL;
	return wire_val_of(&o->via.array.ptr[i]);
}

const struct wire_val *
wire_map_key_at(const struct wire_val *v, uint32_t i)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_MAP || i >= o->via.map.size)
		return NULL;
	return wire_val_of(&o->via.map.ptr[i].key);
}

const struct wire_val *
wire_map_value_at(const struct wire_val *v, uint32_t i)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_MAP || i >= o->via.map.size)
		return NULL;
	return wire_val_of(&o->via.map.ptr[i].val);
}

int
wire_get_uint(const struct wire_val *v, uint64_t *out)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ERR_PROTO;
	*out = o->via.u64;
	return 0;
}

int
wire_get_u32(const struct wire_val *v, uint32_t *out)
{
	uint64_t	 u;

	if (wire_get_uint(v, &u) != 0 || u > UINT32_MAX)
		return ERR_PROTO;
	*out = (uint32_t)u;
	return 0;
}

int
wire_get_int(const struct wire_val *v, int64_t *out)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL)
		return ERR_PROTO;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
		*out = (int64_t)o->via.u64;
		return 0;
	}
	return ERR_PROTO;
}

int
wire_get_double(const struct wire_val *v, double *out)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL)
		return ERR_PROTO;
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = o->via.f64;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = (double)o->via.i64;
		return 0;
	default:
		return ERR_PROTO;
	}
}

int
wire_get_bool(const struct wire_val *v, bool *out)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return ERR_PROTO;
	*out = o->via.boolean;
	return 0;
}

int
wire_get_str(const struct wire_val *v, const char **p, size_t *len)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_STR)
		return ERR_PROTO;
	*p = o->via.str.ptr;
	*len = o->via.str.size;
	return 0;
}

int
wire_get_bin(const struct wire_val *v, const void **p, size_t *len)
{
	const msgpack_object	*o = wire_obj(v);

	if (v == NULL || o->type != MSGPACK_OBJECT_BIN)
		return ERR_PROTO;
	*p = o->via.bin.ptr;
	*len = o->via.bin.size;
	return 0;
}

int
wire_get_strdup(const struct wire_val *v, char **out)
{
	const char	*p;
	size_t		 len;

	if (wire_get_str(v, &p, &len) != 0)
		return ERR_PROTO;
	if (memchr(p, '\0', len) != NULL)
		return ERR_PROTO;
	if ((*out = strndup(p, len)) == NULL)
		return ERR_NOMEM;
	return 0;
}

int
wire_get_fixed_str(const struct wire_val *v, char *out, size_t len)
{
	const char	*p;
	size_t		 n;

	if (wire_get_str(v, &p, &n) != 0 || n != len || memchr(p, '\0', n) != NULL)
		return ERR_PROTO;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
wire_get_strdup_req(const struct wire_val *v, char **out)
{
	char	*s;
	int	 rc;

	if ((rc = wire_get_strdup(v, &s)) != 0)
		return rc;
	if (s[0] == '\0') {
		free(s);
		return ERR_PROTO;
	}
	*out = s;
	return 0;
}

int
wire_map_collect(const struct wire_val *v, const struct wire_key *keys,
    size_t n, const struct wire_val **vals)
{
	const msgpack_object	*o = wire_obj(v);
	const msgpack_object_kv	*kv;
	uint64_t		 seen = 0, bit;
	size_t			 j, k, next = 0;
	uint32_t		 i;

	if (n > WIRE_KEYS_MAX)
		return ERR_INVAL;
	for (k = 0; k < n; k++)
		vals[k] = NULL;
	if (v == NULL || o->type != MSGPACK_OBJECT_MAP)
		return ERR_PROTO;
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		/* Encoders write their keys in table order, so the key after
		 * the last one found nearly always matches at once; any other
		 * order still works, at the cost of a scan. */
		for (j = 0, k = next; j < n; j++, k = k + 1 < n ? k + 1 : 0)
			if (wire_key_is(&kv->key, keys[k].name, keys[k].len))
				break;
		if (j == n)
			continue;	/* a newer node's field */
		/* Which of two values would win depends on the decoder: a map
		 * that repeats a key has no one meaning, so refuse it. */
		bit = UINT64_C(1) << k;
		if (seen & bit)
			return ERR_PROTO;
		seen |= bit;
		next = k + 1 < n ? k + 1 : 0;
		if (kv->val.type != MSGPACK_OBJECT_NIL)
			vals[k] = wire_val_of(&kv->val);
	}
	return 0;
}

int
wire_get_strlist(const struct wire_val *v, struct strlist *out)
{
	const char	*p;
	size_t		 len;
	uint32_t	 i;
	int		 rc;

	if (wire_val_type(v) != WIRE_ARRAY)
		return ERR_PROTO;
	for (i = 0; i < wire_len(v); i++) {
		if ((rc = wire_get_str(wire_array_at(v, i), &p, &len)) != 0 ||
		    (rc = strlist_addn(out, p, len)) != 0) {
			strlist_fini(out);
			return rc;
		}
	}
	return 0;
}

int
wire_get_tagset(const struct wire_val *v, struct tagset *out)
{
	char		*k = NULL, *val = NULL;
	uint32_t	 i;
	int		 rc = 0;

	if (wire_val_type(v) != WIRE_MAP)
		return ERR_PROTO;
	for (i = 0; i < wire_len(v) && rc == 0; i++) {
		if ((rc = wire_get_strdup(wire_map_key_at(v, i), &k)) == 0 &&
		    (rc = wire_get_strdup(wire_map_value_at(v, i), &val)) == 0)
			rc = tagset_set(out, k, val);
		free(k);
		free(val);
		k = val = NULL;
	}
	if (rc != 0)
		tagset_fini(out);
	return rc;
}

int
wire_field_uint(const struct wire_val *map, const char *key, uint64_t *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	return v == NULL ? 0 : wire_get_uint(v, out);
}

int
wire_field_u32(const struct wire_val *map, const char *key, uint32_t *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	return v == NULL ? 0 : wire_get_u32(v, out);
}

int
wire_field_double(const struct wire_val *map, const char *key, double *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	return v == NULL ? 0 : wire_get_double(v, out);
}

int
wire_field_bool(const struct wire_val *map, const char *key, bool *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	return v == NULL ? 0 : wire_get_bool(v, out);
}

int
wire_field_strdup(const struct wire_val *map, const char *key, char **out)
{
	const struct wire_val	*v = wire_map_get(map, key);
	char			*s;
	int			 rc;

	if (v == NULL)
		return 0;
	if ((rc = wire_get_strdup(v, &s)) != 0)
		return rc;
	free(*out);
	*out = s;
	return 0;
}

int
wire_field_strlist(const struct wire_val *map, const char *key, struct strlist *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	if (v == NULL)
		return 0;
	strlist_fini(out);
	return wire_get_strlist(v, out);
}

int
wire_field_tagset(const struct wire_val *map, const char *key, struct tagset *out)
{
	const struct wire_val	*v = wire_map_get(map, key);

	if (v == NULL)
		return 0;
	tagset_fini(out);
	return wire_get_tagset(v, out);
}

int
wire_field_str_req(const struct wire_val *map, const char *key, char **out)
{
	char	*s;
	int	 rc;

	if ((rc = wire_get_strdup_req(wire_map_get(map, key), &s)) != 0)
		return rc;
	free(*out);
	*out = s;
	return 0;
}
