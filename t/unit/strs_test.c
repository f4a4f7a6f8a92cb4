/*
 * String list, tag set, strict integer parsing, and RFC 3339 formatting.
 */
#include <string.h>

#include "src/clock.h"
#include "src/err.h"
#include "src/strs.h"
#include "t/tap.h"

static void
test_parse_ll(void)
{
	long long	 v = 0;

	ok(str_parse_ll("12", 0, 100, &v) && v == 12, "plain number");
	ok(str_parse_ll("-3", -10, 100, &v) && v == -3, "negative within bounds");
	ok(!str_parse_ll(" 12", 0, 100, &v), "leading blank refused");
	ok(!str_parse_ll("+12", 0, 100, &v), "plus sign refused");
	ok(!str_parse_ll("", 0, 100, &v), "empty refused");
	ok(!str_parse_ll("-", -10, 100, &v), "lone minus refused");
	ok(!str_parse_ll("1x", 0, 100, &v), "trailing junk refused");
	ok(!str_parse_ll("12 ", 0, 100, &v), "trailing blank refused");
	ok(!str_parse_ll("101", 0, 100, &v), "above max refused");
	ok(!str_parse_ll("-1", 0, 100, &v), "below min refused");
	ok(!str_parse_ll("99999999999999999999", 0, 100, &v), "overflow refused");
}

static void
test_tagset(void)
{
	struct tagset	 t = { 0 }, want = { 0 }, copy = { 0 };

	ok(tagset_set(&t, "zone", "a") == 0 && tagset_set(&t, "gpu", "true") == 0,
	    "set two tags");
	is_str(t.v[0].key, "gpu", "kept sorted by key");
	ok(tagset_set(&t, "zone", "b") == 0 && t.n == 2, "setting again replaces");
	is_str(tagset_get(&t, "zone"), "b", "get the new value");
	ok(tagset_get(&t, "none") == NULL, "absent key");
	is_int(tagset_set_pair(&t, "=x"), ERR_INVAL, "pair without a key refused");
	is_int(tagset_set_pair(&t, "novalue"), ERR_INVAL, "pair without '=' refused");
	ok(tagset_set_pair(&t, "k=v=w") == 0 && strcmp(tagset_get(&t, "k"), "v=w") == 0,
	    "value may hold '='");
	tagset_set(&want, "gpu", "true");
	ok(tagset_matches(&t, &want), "subset matches");
	tagset_set(&want, "zone", "a");
	ok(!tagset_matches(&t, &want), "a differing value does not");
	ok(tagset_dup(&copy, &t) == 0 && copy.n == t.n, "deep copy");
	tagset_fini(&t);
	tagset_fini(&want);
	tagset_fini(&copy);
	ok(t.n == 0 && t.v == NULL, "fini leaves an empty set");
}

static void
test_strlist(void)
{
	struct strlist	 l = { 0 }, copy = { 0 };

	ok(strlist_add(&l, "a") == 0 && strlist_addn(&l, "bcd", 2) == 0, "add");
	ok(strlist_contains(&l, "bc") && !strlist_contains(&l, "bcd"), "contains");
	ok(strlist_dup(&copy, &l) == 0 && copy.n == 2, "deep copy");
	strlist_fini(&l);
	strlist_fini(&copy);
	ok(l.n == 0, "fini empties");
	ok(str_eq(NULL, NULL) && !str_eq("a", NULL) && str_eq("a", "a"), "str_eq");
	strlist_add(&l, "x");
	strlist_add(&l, "y");
	strlist_add(&copy, "x");
	ok(!strlist_eq(&l, &copy), "strlist_eq: lengths differ");
	strlist_add(&copy, "z");
	ok(!strlist_eq(&l, &copy), "strlist_eq: a string differs");
	strlist_fini(&copy);
	strlist_dup(&copy, &l);
	ok(strlist_eq(&l, &copy), "strlist_eq: a copy is equal");
	strlist_fini(&l);
	strlist_fini(&copy);
}

static void
test_tagset_eq(void)
{
	struct tagset	 a = { NULL, 0 }, b = { NULL, 0 };

	tagset_set(&a, "zone", "eu");
	tagset_set(&a, "gpu", "yes");
	tagset_set(&b, "gpu", "yes");
	ok(!tagset_eq(&a, &b), "tagset_eq: sizes differ");
	tagset_set(&b, "zone", "us");
	ok(!tagset_eq(&a, &b), "tagset_eq: a value differs");
	tagset_set(&b, "zone", "eu");
	ok(tagset_eq(&a, &b), "tagset_eq: set in another order, equal");
	tagset_fini(&a);
	tagset_fini(&b);
}

static void
test_rfc3339(void)
{
	char	 a[32], b[32], small[12];

	is_str(clock_format_rfc3339(0, a, sizeof a), "1970-01-01T00:00:00.000Z",
	    "the epoch");
	is_str(clock_format_rfc3339(1795411421123ULL, a, sizeof a),
	    "2026-11-23T05:23:41.123Z", "a date with milliseconds");
	/* The same second again takes the cached path. */
	is_str(clock_format_rfc3339(1795411421007ULL, b, sizeof b),
	    "2026-11-23T05:23:41.007Z", "same second, other milliseconds");
	is_str(clock_format_rfc3339(1795411422999ULL, b, sizeof b),
	    "2026-11-23T05:23:42.999Z", "the next second");
	is_str(clock_format_rfc3339(951782400000ULL, a, sizeof a),
	    "2000-02-29T00:00:00.000Z", "a leap day");
	is_str(clock_format_rfc3339(1795411421123ULL, small, sizeof small),
	    "2026-11-23T", "a short buffer is truncated, still terminated");
}

/* FNV-1a's published 32-bit test vectors. */
static void
test_hash(void)
{
	ok(str_hash("") == 0x811c9dc5u, "hash of \"\" is the offset basis");
	ok(str_hash("a") == 0xe40c292cu, "hash of \"a\"");
	ok(str_hash("foobar") == 0xbf9cf968u, "hash of \"foobar\"");
}

int
main(void)
{
	test_parse_ll();
	test_tagset();
	test_strlist();
	test_rfc3339();
	test_tagset_eq();
	test_hash();
	return tap_done();
}
