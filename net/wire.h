/*
 * msgpack encoding helpers over msgpack-c, with no msgpack type in sight:
 * a growable writer, and a decoded document whose values are borrowed views.
 * Pure code: no sockets, no globals, every allocation failure reported.
 */
#ifndef NET_WIRE_H
#define NET_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strlist;
struct tagset;

/* ---- writing ---- */

struct wire_writer;

/* New empty writer, or NULL on OOM. */
struct wire_writer	*wire_writer_new(void);
void			 wire_writer_free(struct wire_writer *w);
/* The bytes written so far; borrowed, valid until the next write or free. */
const void		*wire_writer_data(const struct wire_writer *w, size_t *len);
/* Hands the buffer (malloc'd) to the caller and empties the writer.
 * Returns 0, or ERR_NOMEM if any earlier write failed (nothing is handed). */
int			 wire_writer_take(struct wire_writer *w, void **buf, size_t *len);
/* 0, or ERR_NOMEM if any write so far failed (writes are sticky-failing). */
int			 wire_writer_error(const struct wire_writer *w);

void	wire_put_map(struct wire_writer *w, uint32_t n);
void	wire_put_array(struct wire_writer *w, uint32_t n);
void	wire_put_nil(struct wire_writer *w);
void	wire_put_bool(struct wire_writer *w, bool b);
void	wire_put_uint(struct wire_writer *w, uint64_t u);
void	wire_put_int(struct wire_writer *w, int64_t i);
void	wire_put_double(struct wire_writer *w, double d);
void	wire_put_strn(struct wire_writer *w, const char *s, size_t len);
/* NULL is written as nil.  Inline so that the length of a literal (every
 * record's field names) is known at compile time. */
static inline void
wire_put_str(struct wire_writer *w, const char *s)
{
	if (s == NULL)
		wire_put_nil(w);
	else
		wire_put_strn(w, s, strlen(s));
}
void	wire_put_bin(struct wire_writer *w, const void *p, size_t len);
void	wire_put_strlist(struct wire_writer *w, const struct strlist *l);
/* A map of string to string. */
void	wire_put_tagset(struct wire_writer *w, const struct tagset *t);

/* ---- reading ---- */

struct wire_doc;
struct wire_val;		/* borrowed view into a wire_doc */

enum wire_type {
	WIRE_NIL, WIRE_BOOL, WIRE_UINT, WIRE_INT, WIRE_DOUBLE, WIRE_STR,
	WIRE_BIN, WIRE_ARRAY, WIRE_MAP, WIRE_OTHER
};

/* Decodes one msgpack object that must span exactly buf[0..len).
 * ERR_PROTO for malformed or trailing bytes, ERR_NOMEM. Caller frees. */
int			 wire_doc_decode(struct wire_doc **out, const void *buf, size_t len);
void			 wire_doc_free(struct wire_doc *d);
/* Borrowed; valid until wire_doc_free. */
const struct wire_val	*wire_doc_root(const struct wire_doc *d);

enum wire_type		 wire_val_type(const struct wire_val *v);
/* Value of key in map v; NULL if v is not a map, the key is absent, or its
 * value is nil. */
const struct wire_val	*wire_map_get(const struct wire_val *v, const char *key);
/* Number of entries in a map or array, 0 for anything else. */
uint32_t		 wire_len(const struct wire_val *v);
const struct wire_val	*wire_array_at(const struct wire_val *v, uint32_t i);
const struct wire_val	*wire_map_key_at(const struct wire_val *v, uint32_t i);
const struct wire_val	*wire_map_value_at(const struct wire_val *v, uint32_t i);

/* Typed accessors: 0 on success, ERR_PROTO on a type mismatch.  Integers
 * accept any non-negative value that fits; strings are borrowed, not
 * NUL-terminated. */
int	wire_get_uint(const struct wire_val *v, uint64_t *out);
int	wire_get_u32(const struct wire_val *v, uint32_t *out);
int	wire_get_int(const struct wire_val *v, int64_t *out);
int	wire_get_double(const struct wire_val *v, double *out);
int	wire_get_bool(const struct wire_val *v, bool *out);
int	wire_get_str(const struct wire_val *v, const char **p, size_t *len);
int	wire_get_bin(const struct wire_val *v, const void **p, size_t *len);
/* New NUL-terminated copy (caller frees); ERR_PROTO, ERR_NOMEM. */
int	wire_get_strdup(const struct wire_val *v, char **out);
int	wire_get_strlist(const struct wire_val *v, struct strlist *out);
int	wire_get_tagset(const struct wire_val *v, struct tagset *out);

/* Copies a string of exactly len bytes without NUL into out (len + 1
 * bytes, NUL-terminated): fixed-size ids. ERR_PROTO otherwise. */
int	wire_get_fixed_str(const struct wire_val *v, char *out, size_t len);
/* A required string: new NUL-terminated copy (caller frees) of a non-empty
 * string.  NULL (an absent or nil key), "" or another type is ERR_PROTO, and
 * *out is left alone; ERR_NOMEM. */
int	wire_get_strdup_req(const struct wire_val *v, char **out);

/* ---- one-pass map decoding ---- */

/* A key a decoder knows; WIRE_KEY("id") counts the length at compile time. */
struct wire_key {
	const char	*name;
	size_t		 len;
};
#define WIRE_KEY(s)	{ (s), sizeof (s) - 1 }
#define WIRE_KEYS_MAX	64	/* keys one wire_map_collect can look for */

/* Writes k as a map key: encoder and decoder share one spelling. */
static inline void
wire_put_key(struct wire_writer *w, const struct wire_key *k)
{
	wire_put_strn(w, k->name, k->len);
}

/* One pass over map v: vals[k] becomes the value of keys[k], or NULL if that
 * key is absent or nil (as wire_map_get has it).  Keys not in keys[] (and
 * non-string keys) are ignored.  0; ERR_PROTO if v is not a map or has one
 * of keys[] twice; ERR_INVAL if n > WIRE_KEYS_MAX.  The values are borrowed
 * (valid until wire_doc_free); vals[] is unspecified after an error. */
int	wire_map_collect(const struct wire_val *v, const struct wire_key *keys,
	    size_t n, const struct wire_val **vals);

/* Map-field conveniences: an absent (or nil) key leaves *out untouched and
 * returns 0, a present key of the wrong type returns ERR_PROTO. */
int	wire_field_uint(const struct wire_val *map, const char *key, uint64_t *out);
int	wire_field_u32(const struct wire_val *map, const char *key, uint32_t *out);
int	wire_field_double(const struct wire_val *map, const char *key, double *out);
int	wire_field_bool(const struct wire_val *map, const char *key, bool *out);
/* Frees *out first if the key is present. */
int	wire_field_strdup(const struct wire_val *map, const char *key, char **out);
int	wire_field_strlist(const struct wire_val *map, const char *key, struct strlist *out);
int	wire_field_tagset(const struct wire_val *map, const char *key, struct tagset *out);
/* A required, non-empty string: absent, nil or "" is ERR_PROTO.  On success
 * frees the old *out and replaces it; on error leaves *out alone. */
int	wire_field_str_req(const struct wire_val *map, const char *key, char **out);

#endif /* NET_WIRE_H */
