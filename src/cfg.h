/*
 * Configuration as a table, checked once at start-up (tmux's
 * options-table.c): each program lists its options; the same names work as
 * long flags (--data-dir DIR) and as keys of the INI config file
 * (data-dir = DIR, outside any section or in a section named after the
 * program).  Flags override the file; the file overrides defaults.
 */
#ifndef SRC_CFG_H
#define SRC_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct errbuf;
struct strlist;

enum cfg_type {
	CFG_STR,	/* a string */
	CFG_UINT,	/* an unsigned integer within [min, max] */
	CFG_BOOL,	/* true/false, yes/no, on/off, 1/0; a bare flag means true */
	CFG_LIST,	/* a string that may be given many times */
};

struct cfg_option {
	const char	*name;		/* long flag and config key */
	enum cfg_type	 type;
	const char	*def;		/* default as text, or NULL for none */
	uint64_t	 min, max;	/* CFG_UINT bounds */
	const char	*metavar;	/* shown in --help, e.g. "DIR" */
	const char	*help;		/* one line */
};

struct cfg;

enum {
	CFG_PARSED = 0,	/* values are ready */
	CFG_HELP = -1,	/* --help was given; usage printed on stdout */
	CFG_VERSION = -2, /* --version was given; printed on stdout */
};

/* Parses argv (and the file named by the "config" option, if the table has
 * one and it is set) against table[0..n).  Returns CFG_PARSED with *out set,
 * CFG_HELP/CFG_VERSION, or ERR_INVAL with eb naming the bad option or value.
 * Positional arguments are left in rest and nrest (borrowed from argv). */
int	cfg_parse(struct cfg **out, const char *prog, const char *synopsis,
	    const struct cfg_option *table, unsigned n, int argc, char **argv,
	    char ***rest, int *nrest, struct errbuf *eb);
void	cfg_free(struct cfg *c);

/* Values by option name; asking for a name not in the table, or of another
 * type, aborts (a programming error).  Borrowed, valid until cfg_free. */
const char		*cfg_str(const struct cfg *c, const char *name);	/* NULL if unset */
uint64_t		 cfg_uint(const struct cfg *c, const char *name);
bool			 cfg_bool(const struct cfg *c, const char *name);
const struct strlist	*cfg_list(const struct cfg *c, const char *name);
/* True if the option was given on the command line or in the file. */
bool			 cfg_is_set(const struct cfg *c, const char *name);

/* Prints usage: synopsis, then one line per option with its default. */
void	cfg_usage(FILE *fp, const char *prog, const char *synopsis,
	    const struct cfg_option *table, unsigned n);

#endif /* SRC_CFG_H */
