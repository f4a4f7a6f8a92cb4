/*
 * Unit tests for net/wire.c: every put/get kind round-trips, map lookups and
 * nil handling, string lists and tag sets, type mismatches, malformed
 * buffers (truncated at every length, trailing bytes), and the ownership
 * rules of wire_writer_take.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"
#include "src/err.h"
#include "src/strs.h"
#include "t/tap.h"

/* Takes w's bytes and decodes them; the test fails loudly if either step
 * does.  Frees w. */
static struct wire_doc *
wire_test_finish(struct wire_writer *w, void **buf, size_t *len)
{
	struct wire_doc	*d = NULL;
	int		 rc;

	rc = wire_writer_take(w, buf, len);
	wire_writer_free(w);
	if (rc != 0) {
		ok(0, "wire_writer_take: %d", rc);
		return NULL;
	}
	if ((rc = wire_doc_decode(&d, *buf, *len)) != 0) {
		ok(0, "wire_doc_decode: %d", rc);
		return NULL;
	}
	return d;
}

static void
wire_test_scalars(void)
{
	struct wire_writer	*w = wire_writer_new();
	struct wire_doc		*d;
	const struct wire_val	*r, *v;
	void			*buf;
	size_t			 len, slen;
	uint64_t		 u;
	uint32_t		 u32;
	int64_t			 i;
	double			 dbl;
	bool			 b;
	const char		*s;
	const void		*p;
	char			 big[300];
	static const uint8_t	 bin[5] = { 0, 1, 2, 0xfe, 0xff };
	static const uint64_t	 uvals[] = { 0, 1, 127, 128, 255, 256, 65535,
	    65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX };
	static const int64_t	 ivals[] = { -1, -32, -33, -128, -129,
	    -32768, -32769, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN };
	size_t			 k, nu = sizeof uvals / sizeof uvals[0];
	size_t			 ni = sizeof ivals / sizeof ivals[0];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ok(w != NULL, "writer created");
	ok(wire_writer_error(w) == 0, "fresh writer has no error");
	wire_put_array(w, (uint32_t)(nu + ni + 11));
	for (k = 0; k < nu; k++)
		wire_put_uint(w, uvals[k]);
	for (k = 0; k < ni; k++)
		wire_put_int(w, ivals[k]);
	wire_put_int(w, 42);		/* non-negative int packs as uint */
	wire_put_double(w, 3.5);
	wire_put_double(w, -0.25);
	wire_put_bool(w, true);
	wire_put_bool(w, false);
	wire_put_nil(w);
	wire_put_str(w, NULL);		/* written as nil */
	wire_put_str(w, "");
	wire_put_str(w, big);
	wire_put_strn(w, "abcdef", 3);
	wire_put_bin(w, bin, sizeof bin);

	if ((d = wire_test_finish(w, &buf, &len)) == NULL)
		return;
	r = wire_doc_root(d);
	is_int(wire_val_type(r), WIRE_ARRAY, "root is an array");
	is_int(wire_len(r), nu + ni + 11, "array length");

	for (k = 0; k < nu; k++) {
		v = wire_array_at(r, (uint32_t)k);
		u = 0xdead;
		ok(wire_val_type(v) == WIRE_UINT && wire_get_uint(v, &u) == 0 &&
		    u == uvals[k], "uint %llu round-trips",
		    (unsigned long long)uvals[k]);
		if (uvals[k] <= UINT32_MAX)
			ok(wire_get_u32(v, &u32) == 0 && u32 == uvals[k],
			    "u32 %llu", (unsigned long long)uvals[k]);
		else
			is_int(wire_get_u32(v, &u32), ERR_PROTO,
			    "u32 rejects a value above UINT32_MAX");
	}
	v = wire_array_at(r, (uint32_t)(nu - 1));
	is_int(wire_get_int(v, &i), ERR_PROTO, "int rejects UINT64_MAX");
	v = wire_array_at(r, 3);
	ok(wire_get_int(v, &i) == 0 && i == 128, "int accepts a small uint");

	for (k = 0; k < ni; k++) {
		v = wire_array_at(r, (uint32_t)(nu + k));
		ok(wire_val_type(v) == WIRE_INT && wire_get_int(v, &i) == 0 &&
		    i == ivals[k], "int %lld round-trips", (long long)ivals[k]);
		is_int(wire_get_uint(v, &u), ERR_PROTO,
		    "uint rejects a negative");
	}
	k = nu + ni;
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_val_type(v) == WIRE_UINT && wire_get_int(v, &i) == 0 && i == 42,
	    "put_int(42) reads back");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_val_type(v) == WIRE_DOUBLE && wire_get_double(v, &dbl) == 0 &&
	    dbl == 3.5, "double 3.5");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_get_double(v, &dbl) == 0 && dbl == -0.25, "double -0.25");
	is_int(wire_get_uint(v, &u), ERR_PROTO, "uint rejects a double");
	ok(wire_get_double(wire_array_at(r, 2), &dbl) == 0 && dbl == 127.0,
	    "double accepts an integer");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_val_type(v) == WIRE_BOOL && wire_get_bool(v, &b) == 0 && b,
	    "bool true");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_get_bool(v, &b) == 0 && !b, "bool false");
	is_int(wire_get_str(v, &s, &slen), ERR_PROTO, "str rejects a bool");
	v = wire_array_at(r, (uint32_t)k++);
	ok(v != NULL && wire_val_type(v) == WIRE_NIL, "nil");
	is_int(wire_get_bool(v, &b), ERR_PROTO, "bool rejects nil");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_val_type(v) == WIRE_NIL, "NULL string written as nil");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_get_str(v, &s, &slen) == 0 && slen == 0, "empty string");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_get_str(v, &s, &slen) == 0 && slen == strlen(big) &&
	    memcmp(s, big, slen) == 0, "300-byte string");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_get_str(v, &s, &slen) == 0 && slen == 3 &&
	    memcmp(s, "abc", 3) == 0, "strn writes only len bytes");
	v = wire_array_at(r, (uint32_t)k++);
	ok(wire_val_type(v) == WIRE_BIN && wire_get_bin(v, &p, &slen) == 0 &&
	    slen == sizeof bin && memcmp(p, bin, slen) == 0, "bin");
	is_int(wire_get_str(v, &s, &slen), ERR_PROTO, "str rejects bin");
	ok(wire_array_at(r, (uint32_t)k) == NULL, "array_at past the end");
	ok(wire_val_type(NULL) == WIRE_NIL, "NULL value reads as nil");
	is_int(wire_get_uint(NULL, &u), ERR_PROTO, "uint of NULL value");
	is_int(wire_len(wire_array_at(r, 0)), 0, "len of a scalar is 0");

	wire_doc_free(d);
	free(buf);
}

static void
wire_test_maps(void)
{
	struct wire_writer	*w = wire_writer_new();
	struct wire_doc		*d;
	const struct wire_val	*r, *v;
	struct strlist		 sl = { 0 }, got_sl = { 0 };
	struct tagset		 ts = { 0 }, got_ts = { 0 };
	void			*buf;
	size_t			 len, slen;
	const char		*s;
	char			*str;
	uint64_t		 u;
	uint32_t		 u32;
	double			 dbl;
	bool			 b;

	strlist_add(&sl, "alpha");
	strlist_add(&sl, "");
	strlist_add(&sl, "gamma");
	tagset_set(&ts, "zone", "eu-1");
	tagset_set(&ts, "gpu", "a100");

	wire_put_map(w, 12);
	wire_put_str(w, "n");
	wire_put_uint(w, 7);
	wire_put_str(w, "s");
	wire_put_str(w, "hello");
	wire_put_str(w, "nil");
	wire_put_nil(w);
	wire_put_str(w, "l");
	wire_put_strlist(w, &sl);
	wire_put_str(w, "t");
	wire_put_tagset(w, &ts);
	wire_put_str(w, "d");
	wire_put_double(w, 1.5);
	wire_put_str(w, "b");
	wire_put_bool(w, true);
	wire_put_str(w, "nul");
	wire_put_strn(w, "a\0b", 3);
	wire_put_str(w, "badl");	/* a list with a non-string */
	wire_put_array(w, 2);
	wire_put_str(w, "ok");
	wire_put_uint(w, 1);
	wire_put_str(w, "badt");	/* a tag map with a non-string value */
	wire_put_map(w, 2);
	wire_put_str(w, "a");
	wire_put_str(w, "x");
	wire_put_str(w, "b");
	wire_put_uint(w, 2);
	wire_put_str(w, "big");
	wire_put_uint(w, (uint64_t)UINT32_MAX + 1);
	wire_put_uint(w, 5);		/* a non-string key: ignored by lookups */
	wire_put_str(w, "five");

	if ((d = wire_test_finish(w, &buf, &len)) == NULL)
		goto out;
	r = wire_doc_root(d);
	is_int(wire_val_type(r), WIRE_MAP, "root is a map");
	is_int(wire_len(r), 12, "map length");

	ok((v = wire_map_get(r, "n")) != NULL && wire_get_uint(v, &u) == 0 &&
	    u == 7, "map_get finds n");
	ok(wire_map_get(r, "missing") == NULL, "absent key gives NULL");
	ok(wire_map_get(r, "nil") == NULL, "nil value gives NULL");
	ok(wire_map_get(r, "") == NULL, "empty key absent");
	ok(wire_map_get(r, "nu") == NULL, "a prefix of a key does not match");
	ok(wire_map_get(wire_map_get(r, "n"), "n") == NULL,
	    "map_get on a non-map gives NULL");
	ok(wire_map_get(NULL, "n") == NULL, "map_get on NULL gives NULL");
	ok(wire_get_str(wire_map_key_at(r, 1), &s, &slen) == 0 && slen == 1 &&
	    s[0] == 's', "map_key_at");
	ok(wire_get_str(wire_map_value_at(r, 1), &s, &slen) == 0 &&
	    slen == 5 && memcmp(s, "hello", 5) == 0, "map_value_at");
	ok(wire_map_key_at(r, 12) == NULL && wire_map_value_at(r, 12) == NULL,
	    "map_*_at past the end");
	ok(wire_array_at(r, 0) == NULL, "array_at on a map gives NULL");

	ok(wire_get_strlist(wire_map_get(r, "l"), &got_sl) == 0 &&
	    got_sl.n == 3 && strcmp(got_sl.v[0], "alpha") == 0 &&
	    strcmp(got_sl.v[1], "") == 0 && strcmp(got_sl.v[2], "gamma") == 0,
	    "strlist round-trips in order");
	strlist_fini(&got_sl);
	ok(wire_get_tagset(wire_map_get(r, "t"), &got_ts) == 0 &&
	    got_ts.n == 2 && tagset_matches(&got_ts, &ts) &&
	    tagset_matches(&ts, &got_ts), "tagset round-trips");
	tagset_fini(&got_ts);
	is_int(wire_get_strlist(wire_map_get(r, "badl"), &got_sl), ERR_PROTO,
	    "strlist with a non-string element rejected");
	ok(got_sl.n == 0 && got_sl.v == NULL, "rejected strlist left empty");
	is_int(wire_get_tagset(wire_map_get(r, "badt"), &got_ts), ERR_PROTO,
	    "tagset with a non-string value rejected");
	ok(got_ts.n == 0 && got_ts.v == NULL, "rejected tagset left empty");
	is_int(wire_get_strlist(wire_map_get(r, "t"), &got_sl), ERR_PROTO,
	    "strlist rejects a map");
	is_int(wire_get_tagset(wire_map_get(r, "l"), &got_ts), ERR_PROTO,
	    "tagset rejects an array");
	is_int(wire_get_strdup(wire_map_get(r, "nul"), &str), ERR_PROTO,
	    "strdup rejects an embedded NUL");

	/* wire_field_*: absent leaves the output alone, wrong type fails. */
	u = 99;
	ok(wire_field_uint(r, "missing", &u) == 0 && u == 99,
	    "field_uint absent: untouched");
	ok(wire_field_uint(r, "nil", &u) == 0 && u == 99,
	    "field_uint nil: untouched");
	ok(wire_field_uint(r, "n", &u) == 0 && u == 7, "field_uint present");
	is_int(wire_field_uint(r, "s", &u), ERR_PROTO, "field_uint wrong type");
	ok(wire_field_u32(r, "n", &u32) == 0 && u32 == 7, "field_u32");
	is_int(wire_field_u32(r, "big", &u32), ERR_PROTO,
	    "field_u32 rejects 2^32");
	ok(wire_field_double(r, "d", &dbl) == 0 && dbl == 1.5, "field_double");
	is_int(wire_field_double(r, "s", &dbl), ERR_PROTO,
	    "field_double wrong type");
	ok(wire_field_bool(r, "b", &b) == 0 && b, "field_bool");
	is_int(wire_field_bool(r, "n", &b), ERR_PROTO, "field_bool wrong type");

	str = strdup("old");
	ok(wire_field_strdup(r, "missing", &str) == 0 && str != NULL &&
	    strcmp(str, "old") == 0, "field_strdup absent keeps the old value");
	ok(wire_field_strdup(r, "s", &str) == 0 && strcmp(str, "hello") == 0,
	    "field_strdup replaces (and frees) the old value");
	is_int(wire_field_strdup(r, "n", &str), ERR_PROTO,
	    "field_strdup wrong type");
	ok(str != NULL && strcmp(str, "hello") == 0,
	    "failed field_strdup keeps the value");
	free(str);

	strlist_add(&got_sl, "stale");
	ok(wire_field_strlist(r, "l", &got_sl) == 0 && got_sl.n == 3,
	    "field_strlist replaces the old list");
	ok(wire_field_strlist(r, "missing", &got_sl) == 0 && got_sl.n == 3,
	    "field_strlist absent: untouched");
	is_int(wire_field_strlist(r, "n", &got_sl), ERR_PROTO,
	    "field_strlist wrong type");
	strlist_fini(&got_sl);
	tagset_set(&got_ts, "stale", "1");
	ok(wire_field_tagset(r, "t", &got_ts) == 0 && got_ts.n == 2 &&
	    tagset_get(&got_ts, "stale") == NULL,
	    "field_tagset replaces the old set");
	is_int(wire_field_tagset(r, "s", &got_ts), ERR_PROTO,
	    "field_tagset wrong type");
	tagset_fini(&got_ts);

	wire_doc_free(d);
	free(buf);
out:
	strlist_fini(&sl);
	tagset_fini(&ts);
}

/* A nested document cut short at every length, then with junk after it. */
static void
wire_test_malformed(void)
{
	struct wire_writer	*w = wire_writer_new();
	struct wire_doc		*d = NULL;
	void			*buf, *more;
	size_t			 len, cut;
	int			 bad = 0;
	static const struct {
		uint8_t	 b[3];
		size_t	 len;
		const char *what;
	} junk[] = {
		{ { 0xc1 }, 1, "the byte msgpack never uses" },
		{ { 0x92, 0x01 }, 2, "array of 2 with 1 element" },
		{ { 0xd9, 0x05, 'a' }, 3, "str8 of 5 with 1 byte" },
		{ { 0xc4, 0x09, 0x00 }, 3, "bin8 of 9 with 1 byte" },
	};
	size_t			 k;

	wire_put_map(w, 3);
	wire_put_str(w, "list");
	wire_put_array(w, 3);
	wire_put_uint(w, 1);
	wire_put_str(w, "two");
	wire_put_double(w, 3.0);
	wire_put_str(w, "bin");
	wire_put_bin(w, "\x01\x02\x03", 3);
	wire_put_str(w, "big");
	wire_put_uint(w, UINT64_MAX);
	if (wire_writer_take(w, &buf, &len) != 0) {
		ok(0, "take");
		wire_writer_free(w);
		return;
	}
	wire_writer_free(w);

	ok(wire_doc_decode(&d, buf, len) == 0, "whole document decodes");
	wire_doc_free(d);
	for (cut = 0; cut < len; cut++) {
		d = NULL;
		if (wire_doc_decode(&d, buf, cut) != ERR_PROTO || d != NULL)
			bad++;
	}
	is_int(bad, 0, "every truncation is ERR_PROTO");

	if ((more = realloc(buf, len + 1)) == NULL) {
		free(buf);
		ok(0, "realloc");
		return;
	}
	buf = more;
	((uint8_t *)buf)[len] = 0x00;
	is_int(wire_doc_decode(&d, buf, len + 1), ERR_PROTO,
	    "one trailing byte rejected");
	free(buf);

	for (k = 0; k < sizeof junk / sizeof junk[0]; k++)
		ok(wire_doc_decode(&d, junk[k].b, junk[k].len) == ERR_PROTO,
		    "rejected: %s", junk[k].what);
}

static void
wire_test_take(void)
{
	struct wire_writer	*w = wire_writer_new();
	const void		*p;
	void			*buf = NULL, *buf2 = NULL;
	size_t			 len = 99, len2;
	struct wire_doc		*d;
	const struct wire_val	*r;
	uint64_t		 u;

	ok(wire_writer_take(w, &buf, &len) == 0 && buf != NULL && len == 0,
	    "take of an empty writer: a valid empty buffer");
	free(buf);

	wire_put_uint(w, 1);
	p = wire_writer_data(w, &len);
	ok(p != NULL && len == 1, "data shows the bytes so far");
	ok(wire_writer_take(w, &buf, &len) == 0 && len == 1 &&
	    ((uint8_t *)buf)[0] == 1, "take hands the bytes over");
	wire_writer_data(w, &len2);
	is_int(len2, 0, "the writer is empty after take");

	/* The writer is reusable, and the taken buffer is independent of it. */
	wire_put_uint(w, 300);
	ok(wire_writer_take(w, &buf2, &len2) == 0 && len2 == 3 && buf2 != buf,
	    "writer reusable after take");
	ok(((uint8_t *)buf)[0] == 1, "taken buffer untouched by later writes");
	ok(wire_doc_decode(&d, buf2, len2) == 0, "second buffer decodes");
	r = wire_doc_root(d);
	ok(wire_get_uint(r, &u) == 0 && u == 300, "second buffer holds 300");
	wire_doc_free(d);
	wire_writer_free(w);
	free(buf);		/* caller owns both buffers after free */
	free(buf2);
	wire_writer_free(NULL);
	wire_doc_free(NULL);
	ok(1, "free(NULL) is harmless");
}

/* Our writer must produce exactly the bytes msgpack-c's packer produces for
 * the same values (the smallest form of each). */
static void
test_same_bytes_as_msgpack_c(void)
{
	static const uint64_t	 uints[] = { 0, 1, 127, 128, 255, 256, 65535, 65536,
	    4294967295ULL, 4294967296ULL, UINT64_MAX };
	static const int64_t	 ints[] = { -1, -32, -33, -128, -129, -32768, -32769,
	    INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN, 5, 300 };
	static const size_t	 lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536 };
	static const uint32_t	 counts[] = { 0, 15, 16, 65535, 65536 };
	struct wire_writer	*w = wire_writer_new();
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const void		*ours;
	size_t			 i, len;
	char			*text = malloc(65536);

	memset(text, 'x', 65536);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (i = 0; i < sizeof uints / sizeof uints[0]; i++) {
		wire_put_uint(w, uints[i]);
		msgpack_pack_uint64(&pk, uints[i]);
	}
	for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		wire_put_int(w, ints[i]);
		msgpack_pack_int64(&pk, ints[i]);
	}
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		wire_put_strn(w, text, lens[i]);
		msgpack_pack_str(&pk, lens[i]);
		msgpack_pack_str_body(&pk, text, lens[i]);
		wire_put_bin(w, text, lens[i]);
		msgpack_pack_bin(&pk, lens[i]);
		msgpack_pack_bin_body(&pk, text, lens[i]);
	}
	for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		wire_put_map(w, counts[i]);
		msgpack_pack_map(&pk, counts[i]);
		wire_put_array(w, counts[i]);
		msgpack_pack_array(&pk, counts[i]);
	}
	wire_put_double(w, -1.5);
	msgpack_pack_double(&pk, -1.5);
	wire_put_bool(w, true);
	msgpack_pack_true(&pk);
	wire_put_bool(w, false);
	msgpack_pack_false(&pk);
	wire_put_nil(w);
	msgpack_pack_nil(&pk);
	ours = wire_writer_data(w, &len);
	ok(len == sb.size && memcmp(ours, sb.data, len) == 0,
	    "every kind of value encodes to the same bytes as msgpack-c's packer");
	msgpack_sbuffer_destroy(&sb);
	wire_writer_free(w);
	free(text);
}

int
main(void)
{
	test_same_bytes_as_msgpack_c();
	wire_test_scalars();
	wire_test_maps();
	wire_test_malformed();
	wire_test_take();
	return tap_done();
}
