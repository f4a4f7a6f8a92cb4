/*
 * cfg_parse: defaults, flags, the INI file and its precedence, bounds,
 * lists, booleans, unknown options, help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/cfg.h"
#include "src/err.h"
#include "src/strs.h"
#include "t/tap.h"

static const struct cfg_option opts[] = {
	{ "config", CFG_STR, NULL, 0, 0, "FILE", "config file" },
	{ "data-dir", CFG_STR, "/var/lib/x", 0, 0, "DIR", "data" },
	{ "port", CFG_UINT, "8080", 1, 65535, "N", "port" },
	{ "verbose", CFG_BOOL, "false", 0, 0, NULL, "chatty" },
	{ "tag", CFG_LIST, NULL, 0, 0, "K=V", "tags" },
};

static int
parse(struct cfg **c, struct errbuf *eb, int argc, const char **argv)
{
	return cfg_parse(c, "prog", "[options]", opts, 5, argc, (char **)argv,
	    NULL, NULL, eb);
}

int
main(void)
{
	struct errbuf	 eb = { 0 };
	struct cfg	*c = NULL;
	char		 path[] = "/tmp/cfg_test_XXXXXX";
	FILE		*fp;
	int		 fd, rc;

	{
		const char *argv[] = { "prog" };
		ok(parse(&c, &eb, 1, argv) == CFG_PARSED, "no arguments");
		is_str(cfg_str(c, "data-dir"), "/var/lib/x", "string default");
		is_int(cfg_uint(c, "port"), 8080, "uint default");
		ok(!cfg_bool(c, "verbose") && !cfg_is_set(c, "verbose"), "bool default, unset");
		is_int(cfg_list(c, "tag")->n, 0, "empty list");
		cfg_free(c);
	}
	{
		const char *argv[] = { "prog", "--port", "9", "--verbose", "--tag", "a=1",
		    "--tag=b=2", "--data-dir=/d" };
		ok(parse(&c, &eb, 8, argv) == CFG_PARSED, "flags");
		is_int(cfg_uint(c, "port"), 9, "--port 9");
		ok(cfg_bool(c, "verbose"), "bare boolean flag");
		is_int(cfg_list(c, "tag")->n, 2, "repeated list");
		is_str(cfg_list(c, "tag")->v[1], "b=2", "--opt=value with '=' inside");
		is_str(cfg_str(c, "data-dir"), "/d", "--opt=value");
		cfg_free(c);
	}
	{
		const char *argv[] = { "prog", "--port", "0" };
		rc = parse(&c, &eb, 3, argv);
		ok(rc == ERR_INVAL && strstr(eb.msg, "port") != NULL, "below min refused: %s", eb.msg);
	}
	{
		const char *argv[] = { "prog", "--port", "12x" };
		ok(parse(&c, &eb, 3, argv) == ERR_INVAL, "non-number refused");
	}
	{
		const char *argv[] = { "prog", "--port", "-1" };
		ok(parse(&c, &eb, 3, argv) == ERR_INVAL, "negative refused");
	}
	{
		const char *argv[] = { "prog", "--bogus" };
		ok(parse(&c, &eb, 2, argv) == ERR_INVAL && strstr(eb.msg, "bogus") != NULL,
		    "unknown option named");
	}
	{
		const char *argv[] = { "prog", "--port" };
		ok(parse(&c, &eb, 2, argv) == ERR_INVAL, "missing value refused");
	}
	{
		const char *argv[] = { "prog", "stray" };
		ok(parse(&c, &eb, 2, argv) == ERR_INVAL, "positional argument refused");
	}

	fd = mkstemp(path);
	fp = fdopen(fd, "w");
	fprintf(fp, "; comment\nport = 7000\nverbose = yes\ntag = x=1\n[prog]\ndata-dir = /f\n"
	    "[other]\nignored = 1\n");
	fclose(fp);
	{
		const char *argv[] = { "prog", "--port", "7001", "--config", path };
		ok(parse(&c, &eb, 5, argv) == CFG_PARSED, "config file: %s", eb.msg);
		is_int(cfg_uint(c, "port"), 7001, "flag beats file, whatever the order");
		ok(cfg_bool(c, "verbose"), "file sets bool");
		is_str(cfg_str(c, "data-dir"), "/f", "program section read");
		is_int(cfg_list(c, "tag")->n, 1, "list from file");
		cfg_free(c);
	}
	fp = fopen(path, "w");
	fprintf(fp, "nope = 1\n");
	fclose(fp);
	{
		const char *argv[] = { "prog", "--config", path };
		ok(parse(&c, &eb, 3, argv) == ERR_INVAL && strstr(eb.msg, "nope") != NULL,
		    "unknown key in file named");
	}
	fp = fopen(path, "w");
	fprintf(fp, "port = 99999\n");
	fclose(fp);
	{
		const char *argv[] = { "prog", "--config", path };
		ok(parse(&c, &eb, 3, argv) == ERR_INVAL, "out-of-range value in file refused");
	}
	unlink(path);
	{
		const char *argv[] = { "prog", "--config", "/nonexistent/x.conf" };
		ok(parse(&c, &eb, 3, argv) == ERR_INVAL, "missing config file refused");
	}
	{
		const char *argv[] = { "prog", "--help" };
		/* The usage text goes to stdout; TAP ignores lines it does not know. */
		ok(parse(&c, &eb, 2, argv) == CFG_HELP, "--help");
	}
	return tap_done();
}
