/*
 * Table-driven configuration.  Values start as the table's defaults, then
 * the INI file (if the table has a "config" option and it was given) is
 * applied, then the command line.  Every value is checked against its
 * option's type and bounds when it is set, so a bad value is reported with
 * the option's name and its source, before the program does anything.
 */
#include "src/cfg.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/err.h"
#include "src/strs.h"

struct cfg_value {
	char		*str;		/* CFG_STR */
	uint64_t	 u;		/* CFG_UINT */
	bool		 b;		/* CFG_BOOL */
	struct strlist	 list;		/* CFG_LIST */
	bool		 set;		/* given in the file or on the command line */
	bool		 from_cli;	/* CFG_LIST: the command line replaces the file */
};

struct cfg {
	const struct cfg_option	*table;
	unsigned		 n;
	const char		*prog;
	struct cfg_value	*values;
	struct errbuf		*eb;	/* during parsing only */
	int			 file_err;
};

static int
cfg_find(const struct cfg *c, const char *name)
{
	unsigned	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->table[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return ERR_INVAL;
}

/* Sets option i from text; `source` names where the text came from. */
static int
cfg_set(struct cfg *c, unsigned i, const char *text, const char *source, bool cli)
{
	const struct cfg_option	*o = &c->table[i];
	struct cfg_value	*v = &c->values[i];
	unsigned long long	 u;
	char			*end;

	switch (o->type) {
	case CFG_STR:
		if (str_set(&v->str, text) != 0)
			return err_setf(c->eb, ERR_NOMEM, "out of memory");
		break;
	case CFG_UINT:
		errno = 0;
		if (text[0] == '-' || text[0] == '\0')
			goto bad_uint;
		u = strtoull(text, &end, 10);
		if (errno != 0 || *end != '\0' || u < o->min || u > o->max)
			goto bad_uint;
		v->u = u;
		break;
	case CFG_BOOL:
		if (cfg_parse_bool(text, &v->b) != 0)
			return err_setf(c->eb, ERR_INVAL,
			    "%s: %s: expected true or false, got \"%s\"",
			    source, o->name, text);
		break;
	case CFG_LIST:
		/* The command line replaces a list from the file rather
		 * than appending to it, as it does for every other option. */
		if (cli && !v->from_cli) {
			strlist_fini(&v->list);
			v->from_cli = true;
		}
		if (strlist_add(&v->list, text) != 0)
			return err_setf(c->eb, ERR_NOMEM, "out of memory");
		break;
	}
	if (source != NULL)
		v->set = true;
	return 0;
bad_uint:
	return err_setf(c->eb, ERR_INVAL,
	    "%s: %s: expected an integer from %llu to %llu, got \"%s\"",
	    source, o->name, (unsigned long long)o->min,
	    (unsigned long long)o->max, text);
}

static int
cfg_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg	*c = user;
	int		 i;

	if (c->file_err != 0)
		return 0;
	if (section[0] != '\0' && strcmp(section, c->prog) != 0)
		return 1;	/* another program's section */
	if ((i = cfg_find(c, name)) < 0 || strcmp(name, "config") == 0) {
		c->file_err = err_setf(c->eb, ERR_INVAL,
		    "config file: unknown key \"%s\"", name);
		return 0;
	}
	if ((c->file_err = cfg_set(c, (unsigned)i, value, "config file", false)) != 0)
		return 0;
	return 1;
}

static int
cfg_load_file(struct cfg *c, const char *path)
{
	FILE	*fp;
	int	 rc;

	if ((fp = fopen(path, "r")) == NULL)
		return err_setf(c->eb, ERR_INVAL, "config file %s: %s", path,
		    strerror(errno));
	rc = ini_parse_file(fp, cfg_ini_handler, c);
	fclose(fp);
	if (c->file_err != 0)
		return c->file_err;
	if (rc != 0)
		return err_setf(c->eb, ERR_INVAL, "config file %s: syntax error on line %d",
		    path, rc);
	return 0;
}

void
cfg_free(struct cfg *c)
{
	unsigned	 i;

	if (c == NULL)
		return;
	for (i = 0; c->values != NULL && i < c->n; i++) {
		free(c->values[i].str);
		strlist_fini(&c->values[i].list);
	}
	free(c->values);
	free(c);
}

int
cfg_parse(struct cfg **out, const char *prog, const char *synopsis,
    const struct cfg_option *table, unsigned n, int argc, char **argv,
    char ***rest, int *nrest, struct errbuf *eb)
{
	struct cfg	*c;
	const char	*arg, *val, *cfgfile = NULL;
	char		 name[128];
	size_t		 len;
	int		 i, rc, nopt;
	unsigned	 k;

	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->values = calloc(n, sizeof *c->values)) == NULL) {
		cfg_free(c);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	c->table = table;
	c->n = n;
	c->prog = prog;
	c->eb = eb;
	for (k = 0; k < n; k++) {
		if (table[k].def != NULL &&
		    (rc = cfg_set(c, k, table[k].def, NULL, false)) != 0)
			goto fail;
	}

	/* First pass: --help, --version and the config file location, so the
	 * file is applied before any flag regardless of flag order. */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cfg_usage(stdout, prog, synopsis, table, n);
			cfg_free(c);
			return CFG_HELP;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, NIYANTA_VERSION);
			cfg_free(c);
			return CFG_VERSION;
		}
		if (strncmp(argv[i], "--config=", 9) == 0)
			cfgfile = argv[i] + 9;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cfgfile = argv[++i];
	}
	if (cfgfile != NULL) {
		if (cfg_find(c, "config") < 0) {
			rc = err_setf(eb, ERR_INVAL, "unknown option --config");
			goto fail;
		}
		if ((rc = cfg_load_file(c, cfgfile)) != 0)
			goto fail;
		cfg_set(c, (unsigned)cfg_find(c, "config"), cfgfile, "command line", true);
	}

	nopt = 0;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
			break;	/* first positional argument */
		arg += 2;
		val = strchr(arg, '=');
		len = val != NULL ? (size_t)(val - arg) : strlen(arg);
		if (len >= sizeof name) {
			rc = err_setf(eb, ERR_INVAL, "unknown option --%.40s", arg);
			goto fail;
		}
		memcpy(name, arg, len);
		name[len] = '\0';
		if ((rc = cfg_find(c, name)) < 0) {
			rc = err_setf(eb, ERR_INVAL, "unknown option --%s (see --help)", name);
			goto fail;
		}
		k = (unsigned)rc;
		if (strcmp(name, "config") == 0) {
			if (val == NULL)
				i++;
			continue;	/* applied in the first pass */
		}
		if (val != NULL)
			val++;
		else if (table[k].type == CFG_BOOL &&
		    (i + 1 >= argc || cfg_parse_bool(argv[i + 1], &(bool){0}) != 0))
			val = "true";	/* a bare boolean flag */
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			rc = err_setf(eb, ERR_INVAL, "option --%s needs a value", name);
			goto fail;
		}
		if ((rc = cfg_set(c, k, val, "command line", true)) != 0)
			goto fail;
		nopt++;
	}
	if (rest != NULL) {
		*rest = &argv[i];
		*nrest = argc - i;
	} else if (i < argc) {
		rc = err_setf(eb, ERR_INVAL, "unexpected argument \"%s\" (see --help)", argv[i]);
		goto fail;
	}
	(void)nopt;
	c->eb = NULL;
	*out = c;
	return CFG_PARSED;
fail:
	cfg_free(c);
	return rc;
}

static const struct cfg_value *
cfg_value(const struct cfg *c, const char *name, enum cfg_type type)
{
	int	 i = cfg_find(c, name);

	if (i < 0 || c->table[i].type != type) {
		fprintf(stderr, "cfg: no option %s of that type\n", name);
		abort();
	}
	return &c->values[i];
}

const char *
cfg_str(const struct cfg *c, const char *name)
{
	return cfg_value(c, name, CFG_STR)->str;
}

uint64_t
cfg_uint(const struct cfg *c, const char *name)
{
	return cfg_value(c, name, CFG_UINT)->u;
}

bool
cfg_bool(const struct cfg *c, const char *name)
{
	return cfg_value(c, name, CFG_BOOL)->b;
}

const struct strlist *
cfg_list(const struct cfg *c, const char *name)
{
	return &cfg_value(c, name, CFG_LIST)->list;
}

bool
cfg_is_set(const struct cfg *c, const char *name)
{
	int	 i = cfg_find(c, name);

	return i >= 0 && c->values[i].set;
}

void
cfg_usage(FILE *fp, const char *prog, const char *synopsis,
    const struct cfg_option *table, unsigned n)
{
	const struct cfg_option	*o;
	char			 flag[96];
	unsigned		 i;

	fprintf(fp, "usage: %s %s\n\noptions (each is also a key of the config file):\n",
	    prog, synopsis);
	for (i = 0; i < n; i++) {
		o = &table[i];
		snprintf(flag, sizeof flag, "--%s%s%s", o->name,
		    o->type == CFG_BOOL ? "" : " ",
		    o->type == CFG_BOOL ? "" : (o->metavar ? o->metavar : "VALUE"));
		fprintf(fp, "  %-32s %s", flag, o->help);
		if (o->type == CFG_LIST)
			fprintf(fp, " (repeatable)");
		if (o->def != NULL)
			fprintf(fp, " [default: %s]", o->def);
		fputc('\n', fp);
	}
	fprintf(fp, "  %-32s %s\n  %-32s %s\n", "--help", "show this help and exit",
	    "--version", "show the version and exit");
}
