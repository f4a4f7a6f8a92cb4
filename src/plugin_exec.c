/*
 * The built-in "exec" workload type: runs a command as a child process.
 *
 * Parameters: {"argv": ["prog", "arg", ...], "env": {"K": "V"}, "cwd": "dir"}
 * (argv required).  The child is started with posix_spawnp (never fork:
 * nng is not fork-safe) in a process group of its own, with stdin from
 * /dev/null, the worker's environment plus env, and stdout and stderr on
 * pipes of which the last 4 KiB are kept.  Stopping (cancel, pause, drain)
 * and the timeout send SIGTERM to the whole group, then SIGKILL 5 s later.
 * NIYANTA_WORKLOAD_ID and NIYANTA_ATTEMPT are set for the child.
 *
 * Progress: a line "NIYANTA_PROGRESS <percent> [message]" on stdout (the
 * percent a decimal number, clamped to 0..100 by the worker; the message
 * the rest of the line, optional) is reported as the workload's progress,
 * which also drives an on_progress_percent checkpoint policy.  The line
 * stays in stdout_tail like any other.  A malformed one is logged once
 * and otherwise ignored.
 *
 * Checkpoints are a directory.  NIYANTA_CHECKPOINT_DIR names an empty
 * private directory in which the command keeps its state as files
 * (subdirectories allowed).  Write each file under a temporary name in
 * the same directory and rename it over the real one, so that a file is
 * never taken half-written: a file that changes while it is being read
 * makes the worker drop that checkpoint and try again later, but a file
 * rewritten in place can still be caught between two writes.  The
 * directory is "taken" -- its regular files packed into one archive (below)
 * and stored with the coordinator -- whenever it has changed since the last
 * one taken (names, sizes, modification times), looking at most once a
 * second; as soon as the workload's checkpoint policy starts asking for a
 * checkpoint (host checkpoint_due), if it changed; and once more after a
 * stopped child (cancel, pause, drain) exited, if it changed.  A command
 * therefore checkpoints simply by writing its state.  A symbolic link,
 * device, FIFO or socket in the directory, more than 10000 files, paths
 * over 4095 bytes or 32 levels, or an archive over 64 MiB make the
 * checkpoint fail (logged once per problem) until the directory is fixed.
 * If the coordinator does not store a checkpoint, the same directory is
 * not sent again; the next change is.
 *
 * A resumed attempt finds the files of the last checkpoint, with their
 * modes, in NIYANTA_RESUME_DIR before the command starts, and gets
 * NIYANTA_CHECKPOINT_RESUMED=1; on a fresh attempt NIYANTA_RESUME_DIR is
 * empty and NIYANTA_CHECKPOINT_RESUMED is not set.  The checkpoint
 * directory always starts empty and each checkpoint is the whole of it,
 * so a command that updates only some of its files copies the others
 * over first (cp -a "$NIYANTA_RESUME_DIR/." "$NIYANTA_CHECKPOINT_DIR").  A
 * malformed archive makes the attempt fail before the command starts,
 * saying what is wrong with it.
 *
 * The archive (version 1): every integer unsigned and big-endian.
 *
 *	magic	8 bytes "NIYXCKPT"
 *	version	u32, 1
 *	count	u32, the number of entries (at most 10000)
 *	count entries, in strictly increasing byte order of path:
 *	  path_len	u32, 1 to 4095
 *	  path		path_len bytes: relative to the directory, components
 *			separated by '/', none empty, "." or "..", no NUL,
 *			at most 32 components
 *	  mode		u32, permission bits (at most 0777)
 *	  size		u64
 *	  data		size bytes, the file's contents
 *
 * and nothing after the last entry.  Only regular files are stored;
 * directories are implied by the paths.  The whole archive, and so the
 * contents, are at most 64 MiB (EXEC_CKPT_MAX).
 *
 * Result: {"exit_code": N|null, "signal": N|null, "stdout_tail": "...",
 * "stderr_tail": "..."}; the tails are made valid UTF-8 (each invalid byte
 * becomes U+FFFD).  Exit status 0 succeeds; anything else fails with
 * "exited with status N", "killed by signal N", "timed out after N s" or
 * "cannot start: <reason>".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "niyanta/plugin.h"
#include "src/clock.h"
#include "src/plugin_registry.h"

extern char **environ;

#define EXEC_TAIL_MAX		4096
#define EXEC_KILL_GRACE_MS	5000
#define EXEC_TICK_MS		100
#define EXEC_CKPT_EVERY_MS	1000
#define EXEC_CKPT_MAX		(64u * 1024 * 1024)
#define EXEC_CKPT_FILES		10000		/* files in one checkpoint */
#define EXEC_CKPT_FINAL_TRIES	3		/* takes after a stopped child */
#define EXEC_PATH_MAX		4095		/* bytes of one archived path */
#define EXEC_DEPTH_MAX		32		/* components of one archived path */
#define EXEC_RM_DEPTH_MAX	256		/* levels removed when cleaning up */
#define EXEC_ARGV_MAX		4096
#define EXEC_LINE_MAX		1024		/* stdout line examined for progress */

#define EXEC_MAGIC		"NIYXCKPT"
#define EXEC_MAGIC_LEN		8
#define EXEC_VERSION		1
#define EXEC_HDR_LEN		(EXEC_MAGIC_LEN + 4 + 4)
#define EXEC_ENTRY_HDR_LEN	(4 + 4 + 8)	/* path_len, mode, size */

#define EXEC_SIG_EMPTY		0xcbf29ce484222325ull	/* FNV-1a offset basis */
#define EXEC_SIG_PRIME		0x100000001b3ull

#define EXEC_PROGRESS_WORD	"NIYANTA_PROGRESS"

struct plugin_exec_tail {
	char	 buf[EXEC_TAIL_MAX];
	size_t	 len;
};

/* The child's stdout, cut into lines to find progress reports. */
struct plugin_exec_lines {
	char	 buf[EXEC_LINE_MAX];	/* the current line so far */
	size_t	 len;
	bool	 skipping;		/* the current line outgrew buf */
	bool	 complained;		/* a malformed report was logged */
};

struct plugin_exec {
	char		**argv;		/* NULL-terminated, owned */
	char		**envp;		/* NULL-terminated, owned */
	char		 *cwd;		/* NULL: the worker's */
	uint32_t	  timeout_s;
	char		 *dir;		/* private temporary directory */
	char		 *ckpt_dir;	/* dir/checkpoint: NIYANTA_CHECKPOINT_DIR */
	char		 *resume_dir;	/* dir/resume: NIYANTA_RESUME_DIR */
	uint64_t	  ckpt_sig;	/* signature of the last directory taken */
	char		  complaint[256]; /* the last checkpoint problem logged */
};

/* One regular file of the checkpoint directory, as a scan saw it. */
struct plugin_exec_file {
	char		*path;		/* relative to the directory, owned */
	uint32_t	 mode;		/* permission bits */
	uint64_t	 size;
	uint64_t	 ino;
	int64_t		 mtime_s;
	int64_t		 mtime_ns;
};

/* What the checkpoint directory holds. */
struct plugin_exec_scan {
	struct plugin_exec_file	*files;		/* sorted by path */
	size_t			 n;
	size_t			 cap;
	uint64_t		 archive_len;	/* bytes of their archive */
	uint64_t		 sig;		/* see plugin_exec_scan_sig */
};

/* Reads an archive entry by entry; see plugin_exec_archive_next. */
struct plugin_exec_reader {
	const unsigned char	*p;		/* next unread byte */
	size_t			 left;		/* bytes from p to the end */
	uint32_t		 count;		/* entries in the archive */
	uint32_t		 index;		/* entries read so far */
	uint64_t		 total;		/* content bytes so far */
	const char		*prev;		/* the previous entry's path */
	size_t			 prev_len;
};

struct plugin_exec_entry {
	const char		*path;		/* path_len bytes, no NUL */
	size_t			 path_len;
	uint32_t		 mode;
	const unsigned char	*data;		/* size bytes */
	uint64_t		 size;
};

static void
plugin_exec_strv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Opens subdirectory name of dfd without following a symbolic link; a
 * directory the command made unreadable is made readable first. */
static int
plugin_exec_subdir_open(int dfd, const char *name)
{
	int	 fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	return fd;
}

/* Removes what the directory open as dfd holds (closing dfd), without
 * following symbolic links; depth bounds the recursion. */
static void
plugin_exec_tree_empty(int dfd, int depth)
{
	struct dirent	*de;
	DIR		*d;
	int		 sub;

	/* The command may have taken its own rights away. */
	(void)fchmod(dfd, 0700);
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* Linux says EISDIR for a directory (a link to one is
		 * simply unlinked). */
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno != EISDIR ||
		    depth >= EXEC_RM_DEPTH_MAX)
			continue;
		if ((sub = plugin_exec_subdir_open(dirfd(d), de->d_name)) < 0)
			continue;
		plugin_exec_tree_empty(sub, depth + 1);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* Removes the temporary directory and everything in it. */
static void
plugin_exec_dir_remove(const char *dir)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
		plugin_exec_tree_empty(fd, 0);
	rmdir(dir);
}

static void
plugin_exec_close(void *state)
{
	struct plugin_exec	*x = state;

	if (x == NULL)
		return;
	plugin_exec_strv_free(x->argv);
	plugin_exec_strv_free(x->envp);
	free(x->cwd);
	if (x->dir != NULL)
		plugin_exec_dir_remove(x->dir);
	free(x->dir);
	free(x->ckpt_dir);
	free(x->resume_dir);
	free(x);
}

/* A JSON string without embedded NULs, or NULL. */
static const char *
plugin_exec_json_str(json_t *v)
{
	const char	*s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	return strlen(s) == json_string_length(v) ? s : NULL;
}

static bool
plugin_exec_env_name_valid(const char *k)
{
	return k[0] != '\0' && strchr(k, '=') == NULL;
}

/* Appends "key=value" to v (n entries so far, room for one more + NULL). */
static int
plugin_exec_env_add(char **v, size_t *n, const char *key, const char *value)
{
	if (asprintf(&v[*n], "%s=%s", key, value) < 0) {
		v[*n] = NULL;
		return -1;
	}
	(*n)++;
	v[*n] = NULL;
	return 0;
}

static bool
plugin_exec_env_overridden(const char *entry, json_t *env)
{
	const char	*eq = strchr(entry, '=');
	size_t		 klen = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
	const char	*key;
	json_t		*v;

	if (klen > 8 && strncmp(entry, "NIYANTA_", 8) == 0)
		return true;		/* ours, set per attempt */
	if (env == NULL)
		return false;
	json_object_foreach(env, key, v) {
		if (strlen(key) == klen && strncmp(key, entry, klen) == 0)
			return true;
	}
	return false;
}

/* The worker's environment, with env's variables and ours on top. */
static int
plugin_exec_env_build(struct plugin_exec *x, json_t *env,
    const struct niyanta_task *task, bool resumed)
{
	const char	*key;
	json_t		*v;
	size_t		 n = 0, cap = 0, i;
	char		 attempt[16];

	for (i = 0; environ[i] != NULL; i++)
		cap++;
	/* Ours: the two directories, the id, the attempt, resumed. */
	cap += (env != NULL ? json_object_size(env) : 0) + 5 + 1;
	if ((x->envp = calloc(cap, sizeof *x->envp)) == NULL)
		return -1;
	for (i = 0; environ[i] != NULL; i++) {
		if (plugin_exec_env_overridden(environ[i], env))
			continue;
		if ((x->envp[n] = strdup(environ[i])) == NULL)
			return -1;
		n++;
	}
	if (env != NULL) {
		json_object_foreach(env, key, v) {
			if (plugin_exec_env_add(x->envp, &n, key,
			    plugin_exec_json_str(v)) != 0)
				return -1;
		}
	}
	snprintf(attempt, sizeof attempt, "%u", (unsigned)task->attempt);
	if (plugin_exec_env_add(x->envp, &n, "NIYANTA_CHECKPOINT_DIR",
	    x->ckpt_dir) != 0 ||
	    plugin_exec_env_add(x->envp, &n, "NIYANTA_RESUME_DIR",
	    x->resume_dir) != 0 ||
	    plugin_exec_env_add(x->envp, &n, "NIYANTA_WORKLOAD_ID",
	    task->workload_id != NULL ? task->workload_id : "") != 0 ||
	    plugin_exec_env_add(x->envp, &n, "NIYANTA_ATTEMPT", attempt) != 0)
		return -1;
	if (resumed && plugin_exec_env_add(x->envp, &n,
	    "NIYANTA_CHECKPOINT_RESUMED", "1") != 0)
		return -1;
	return 0;
}
static int
plugin_exec_params(struct plugin_exec *x, json_t *params, json_t **envout,
    char *err, size_t errlen)
{
	json_t		*argv, *env, *cwd, *v;
	const char	*key, *s;
	size_t		 i, n;

	json_object_foreach(params, key, v) {
		if (strcmp(key, "argv") != 0 && strcmp(key, "env") != 0 &&
		    strcmp(key, "cwd") != 0) {
			snprintf(err, errlen, "params: unknown member \"%s\" "
			    "(exec takes argv, env and cwd)", key);
			return -1;
		}
	}
	argv = json_object_get(params, "argv");
	if (!json_is_array(argv) || (n = json_array_size(argv)) == 0 ||
	    n > EXEC_ARGV_MAX) {
		snprintf(err, errlen, "params: \"argv\" must be a non-empty array "
		    "of strings (at most %d)", EXEC_ARGV_MAX);
		return -1;
	}
	if ((x->argv = calloc(n + 1, sizeof *x->argv)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((s = plugin_exec_json_str(json_array_get(argv, i))) == NULL ||
		    (i == 0 && s[0] == '\0')) {
			snprintf(err, errlen, "params: argv[%zu] must be a %sstring "
			    "without NUL characters", i, i == 0 ? "non-empty " : "");
			return -1;
		}
		if ((x->argv[i] = strdup(s)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	env = json_object_get(params, "env");
	if (env != NULL && !json_is_null(env)) {
		if (!json_is_object(env)) {
			snprintf(err, errlen, "params: \"env\" must be an object of "
			    "strings");
			return -1;
		}
		json_object_foreach(env, key, v) {
			if (!plugin_exec_env_name_valid(key) ||
			    plugin_exec_json_str(v) == NULL) {
				snprintf(err, errlen, "params: env \"%s\" needs a "
				    "name without '=' and a string value", key);
				return -1;
			}
			if (strncmp(key, "NIYANTA_", 8) == 0) {
				snprintf(err, errlen, "params: env \"%s\": NIYANTA_ "
				    "variables are set by the worker", key);
				return -1;
			}
		}
		*envout = env;
	}
	cwd = json_object_get(params, "cwd");
	if (cwd != NULL && !json_is_null(cwd)) {
		if ((s = plugin_exec_json_str(cwd)) == NULL || s[0] == '\0') {
			snprintf(err, errlen, "params: \"cwd\" must be a non-empty "
			    "string");
			return -1;
		}
		if ((x->cwd = strdup(s)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}


/* ---------------------------------------------------------------- archive */

static void
plugin_exec_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
plugin_exec_put64(unsigned char *p, uint64_t v)
{
	plugin_exec_put32(p, (uint32_t)(v >> 32));
	plugin_exec_put32(p + 4, (uint32_t)v);
}

static uint32_t
plugin_exec_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
plugin_exec_get64(const unsigned char *p)
{
	return (uint64_t)plugin_exec_get32(p) << 32 | plugin_exec_get32(p + 4);
}

/* True if path (len bytes) is safe to create under a directory: relative,
 * components non-empty and neither "." nor "..", no NUL, not too deep. */
static bool
plugin_exec_path_safe(const char *path, size_t len)
{
	size_t	 i, start = 0, depth = 0, clen;

	if (len == 0 || len > EXEC_PATH_MAX || memchr(path, '\0', len) != NULL)
		return false;
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		clen = i - start;
		if (clen == 0 || (clen == 1 && path[start] == '.') ||
		    (clen == 2 && path[start] == '.' && path[start + 1] == '.'))
			return false;
		if (++depth > EXEC_DEPTH_MAX)
			return false;
		start = i + 1;
	}
	return true;
}

/* Prints up to 64 bytes of an untrusted path, each unprintable byte as
 * '?', for an error message. */
static const char *
plugin_exec_path_show(char *buf, size_t buflen, const char *path, size_t len)
{
	size_t	 i, n = len < 64 ? len : 64;

	if (n >= buflen)
		n = buflen - 1;
	for (i = 0; i < n; i++)
		buf[i] = path[i] >= 0x20 && path[i] < 0x7f ? path[i] : '?';
	buf[n] = '\0';
	return buf;
}

/* Compares paths the way strcmp would, for the order check. */
static int
plugin_exec_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Starts reading the archive data[0..len); -1 with a reason if its header
 * is not that of a version 1 archive. */
static int
plugin_exec_archive_open(struct plugin_exec_reader *r, const void *data,
    size_t len, char *err, size_t errlen)
{
	uint32_t	 version;

	memset(r, 0, sizeof *r);
	if (len > EXEC_CKPT_MAX) {
		snprintf(err, errlen, "checkpoint: %zu bytes (limit %u)", len,
		    EXEC_CKPT_MAX);
		return -1;
	}
	if (len < EXEC_HDR_LEN || memcmp(data, EXEC_MAGIC, EXEC_MAGIC_LEN) != 0) {
		snprintf(err, errlen, "checkpoint: not an exec checkpoint archive "
		    "(%s)", len < EXEC_HDR_LEN ? "too short" : "bad magic");
		return -1;
	}
	r->p = data;
	if ((version = plugin_exec_get32(r->p + EXEC_MAGIC_LEN)) != EXEC_VERSION) {
		snprintf(err, errlen, "checkpoint: archive version %" PRIu32
		    " is not supported (this worker reads version %d)", version,
		    EXEC_VERSION);
		return -1;
	}
	r->count = plugin_exec_get32(r->p + EXEC_MAGIC_LEN + 4);
	if (r->count > EXEC_CKPT_FILES) {
		snprintf(err, errlen, "checkpoint: %" PRIu32 " entries (limit %d)",
		    r->count, EXEC_CKPT_FILES);
		return -1;
	}
	r->p += EXEC_HDR_LEN;
	r->left = len - EXEC_HDR_LEN;
	return 0;
}

/* The next entry, checked: 1 and *e, 0 after the last one (and nothing
 * follows it), or -1 with a reason. */
static int
plugin_exec_archive_next(struct plugin_exec_reader *r,
    struct plugin_exec_entry *e, char *err, size_t errlen)
{
	uint32_t	 plen;
	char		 show[80];
	unsigned	 no = r->index + 1;

	if (r->index == r->count) {
		if (r->left == 0)
			return 0;
		snprintf(err, errlen, "checkpoint: %zu byte%s after the last of "
		    "%" PRIu32 " entries", r->left, r->left == 1 ? "" : "s",
		    r->count);
		return -1;
	}
	if (r->left < 4)
		goto truncated;
	plen = plugin_exec_get32(r->p);
	if (plen == 0 || plen > EXEC_PATH_MAX) {
		snprintf(err, errlen, "checkpoint: entry %u: path length %" PRIu32
		    " (must be 1 to %d)", no, plen, EXEC_PATH_MAX);
		return -1;
	}
	if (r->left - 4 < (size_t)plen + 4 + 8)
		goto truncated;
	e->path = (const char *)r->p + 4;
	e->path_len = plen;
	plugin_exec_path_show(show, sizeof show, e->path, e->path_len);
	if (!plugin_exec_path_safe(e->path, e->path_len)) {
		snprintf(err, errlen, "checkpoint: entry %u has an unsafe path "
		    "\"%s\" (absolute, empty, \".\" or \"..\" component, NUL "
		    "or deeper than %d)", no, show, EXEC_DEPTH_MAX);
		return -1;
	}
	if (r->prev != NULL && plugin_exec_path_cmp(r->prev, r->prev_len,
	    e->path, e->path_len) >= 0) {
		snprintf(err, errlen, "checkpoint: entry %u \"%s\" is out of "
		    "order or repeated", no, show);
		return -1;
	}
	e->mode = plugin_exec_get32(r->p + 4 + plen);
	e->size = plugin_exec_get64(r->p + 4 + plen + 4);
	if (e->mode > 0777) {
		snprintf(err, errlen, "checkpoint: entry %u \"%s\": mode %#" PRIo32
		    " is not permission bits", no, show, e->mode);
		return -1;
	}
	r->p += EXEC_ENTRY_HDR_LEN + plen;
	r->left -= EXEC_ENTRY_HDR_LEN + plen;
	if (e->size > r->left)
		goto truncated;
	if (e->size > EXEC_CKPT_MAX - r->total) {
		snprintf(err, errlen, "checkpoint: the files total more than %u "
		    "bytes", EXEC_CKPT_MAX);
		return -1;
	}
	r->total += e->size;
	e->data = r->p;
	r->p += e->size;
	r->left -= (size_t)e->size;
	r->prev = e->path;
	r->prev_len = e->path_len;
	r->index++;
	return 1;
truncated:
	snprintf(err, errlen, "checkpoint: entry %u of %" PRIu32 " is truncated",
	    no, r->count);
	return -1;
}

/* Opens the directory that holds path under rootfd, component by
 * component without following symbolic links (creating the missing ones,
 * mode 0700, if create).  Returns its fd (a new one, even for rootfd itself)
 * with *last pointing at the last component of path (NUL-terminated in
 * place), or -1 with errno. */
static int
plugin_exec_parent_open(int rootfd, char *path, bool create, const char **last)
{
	char	*comp = path, *slash;
	int	 fd, next, saved;

	if ((fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while ((slash = strchr(comp, '/')) != NULL) {
		*slash = '\0';
		if (create && mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		close(fd);
		*slash = '/';
		if (next < 0) {
			errno = saved;
			return -1;
		}
		fd = next;
		comp = slash + 1;
	}
	*last = comp;
	return fd;
}

static int
plugin_exec_write_all(int fd, const unsigned char *p, uint64_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len > (1u << 30) ? (1u << 30) : (size_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Creates the file of entry e under rootfd; 0, or -1 with errno. */
static int
plugin_exec_entry_write(int rootfd, const struct plugin_exec_entry *e)
{
	char		 path[EXEC_PATH_MAX + 1];
	const char	*last;
	int		 dfd, fd, saved;

	memcpy(path, e->path, e->path_len);
	path[e->path_len] = '\0';
	if ((dfd = plugin_exec_parent_open(rootfd, path, true, &last)) < 0)
		return -1;
	fd = openat(dfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	saved = errno;
	close(dfd);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	if (plugin_exec_write_all(fd, e->data, e->size) != 0 ||
	    fchmod(fd, (mode_t)e->mode) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* Unpacks the checkpoint archive into the resume directory: checks every
 * entry before creating anything.  0, or -1 with a reason. */
static int
plugin_exec_ckpt_restore(struct plugin_exec *x, const void *data, size_t len,
    char *err, size_t errlen)
{
	struct plugin_exec_reader	 r;
	struct plugin_exec_entry	 e;
	char				 show[80];
	int				 rc, rootfd;

	if (plugin_exec_archive_open(&r, data, len, err, errlen) != 0)
		return -1;
	while ((rc = plugin_exec_archive_next(&r, &e, err, errlen)) == 1)
		continue;
	if (rc < 0)
		return -1;

	if ((rootfd = open(x->resume_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", x->resume_dir,
		    strerror(errno));
		return -1;
	}
	plugin_exec_archive_open(&r, data, len, err, errlen);
	while ((rc = plugin_exec_archive_next(&r, &e, err, errlen)) == 1) {
		if (plugin_exec_entry_write(rootfd, &e) != 0) {
			snprintf(err, errlen, "checkpoint: cannot restore \"%s\" "
			    "into %s: %s", plugin_exec_path_show(show, sizeof show,
			    e.path, e.path_len), x->resume_dir, strerror(errno));
			close(rootfd);
			return -1;
		}
	}
	close(rootfd);
	return rc;
}

/* ---------------------------------------------------------------- taking */

static void
plugin_exec_scan_fini(struct plugin_exec_scan *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		free(s->files[i].path);
	free(s->files);
	memset(s, 0, sizeof *s);
}

static const char *
plugin_exec_kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/* Adds the regular files under the directory open as dfd (closed here)
 * to s, their paths under prefix ("" for the top).  0, or -1 with a
 * reason. */
static int
plugin_exec_scan_dir(struct plugin_exec_scan *s, int dfd, const char *prefix,
    int depth, char *err, size_t errlen)
{
	struct plugin_exec_file	*f, *grown;
	struct dirent		*de;
	struct stat		 st;
	DIR			*d;
	char			*path = NULL;
	int			 sub, rc = -1;
	size_t			 cap;

	if ((d = fdopendir(dfd)) == NULL) {
		snprintf(err, errlen, "cannot read %s%s: %s",
		    prefix[0] != '\0' ? prefix : "the directory",
		    prefix[0] != '\0' ? "/" : "", strerror(errno));
		close(dfd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				snprintf(err, errlen, "cannot read %s: %s",
				    prefix[0] != '\0' ? prefix : "the directory",
				    strerror(errno));
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		free(path);
		if (asprintf(&path, "%s%s%s", prefix, prefix[0] != '\0' ? "/" : "",
		    de->d_name) < 0) {
			path = NULL;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (strlen(path) > EXEC_PATH_MAX) {
			snprintf(err, errlen, "a path is longer than %d bytes",
			    EXEC_PATH_MAX);
			goto out;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;	/* renamed or removed meanwhile */
			snprintf(err, errlen, "cannot stat %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 >= EXEC_DEPTH_MAX) {
				snprintf(err, errlen, "%s is more than %d levels "
				    "deep", path, EXEC_DEPTH_MAX);
				goto out;
			}
			sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 && errno == ENOENT)
				continue;
			if (sub < 0) {
				snprintf(err, errlen, "cannot open %s: %s", path,
				    strerror(errno));
				goto out;
			}
			if (plugin_exec_scan_dir(s, sub, path, depth + 1, err,
			    errlen) != 0)
				goto out;
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s is %s (only regular files and "
			    "directories can be checkpointed)", path,
			    plugin_exec_kind(st.st_mode));
			goto out;
		}
		if (s->n == EXEC_CKPT_FILES) {
			snprintf(err, errlen, "more than %d files", EXEC_CKPT_FILES);
			goto out;
		}
		s->archive_len += EXEC_ENTRY_HDR_LEN + strlen(path) +
		    (uint64_t)st.st_size;
		if (s->archive_len > EXEC_CKPT_MAX) {
			snprintf(err, errlen, "the files take more than %u bytes",
			    EXEC_CKPT_MAX);
			goto out;
		}
		if (s->n == s->cap) {
			cap = s->cap > 0 ? s->cap * 2 : 16;
			if ((grown = reallocarray(s->files, cap, sizeof *grown)) ==
			    NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			s->files = grown;
			s->cap = cap;
		}
		f = &s->files[s->n++];
		f->path = path;
		path = NULL;
		f->mode = (uint32_t)(st.st_mode & 0777);
		f->size = (uint64_t)st.st_size;
		f->ino = (uint64_t)st.st_ino;
		f->mtime_s = (int64_t)st.st_mtim.tv_sec;
		f->mtime_ns = (int64_t)st.st_mtim.tv_nsec;
	}
	rc = 0;
out:
	free(path);
	closedir(d);
	return rc;
}

static int
plugin_exec_file_cmp(const void *a, const void *b)
{
	const struct plugin_exec_file	*fa = a, *fb = b;

	return strcmp(fa->path, fb->path);
}

static uint64_t
plugin_exec_sig_add(uint64_t h, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * EXEC_SIG_PRIME;
	return h;
}

/* The directory's signature: FNV-1a over each file's path, mode, size,
 * inode and modification time (ns), in path order.  Cheap, and any
 * rename-over, rewrite, addition or removal changes it. */
static uint64_t
plugin_exec_scan_sig(const struct plugin_exec_scan *s)
{
	const struct plugin_exec_file	*f;
	uint64_t			 h = EXEC_SIG_EMPTY;
	unsigned char			 b[36];
	size_t				 i;

	for (i = 0; i < s->n; i++) {
		f = &s->files[i];
		h = plugin_exec_sig_add(h, f->path, strlen(f->path) + 1);
		plugin_exec_put32(b, f->mode);
		plugin_exec_put64(b + 4, f->size);
		plugin_exec_put64(b + 12, f->ino);
		plugin_exec_put64(b + 20, (uint64_t)f->mtime_s);
		plugin_exec_put64(b + 28, (uint64_t)f->mtime_ns);
		h = plugin_exec_sig_add(h, b, sizeof b);
	}
	return h;
}

/* Scans the checkpoint directory into s (sorted, signed).  0, or -1 with a
 * reason. */
static int
plugin_exec_scan(const char *dir, struct plugin_exec_scan *s, char *err,
    size_t errlen)
{
	int	 fd;

	memset(s, 0, sizeof *s);
	s->archive_len = EXEC_HDR_LEN;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	if (plugin_exec_scan_dir(s, fd, "", 0, err, errlen) != 0) {
		plugin_exec_scan_fini(s);
		return -1;
	}
	if (s->n > 1)
		qsort(s->files, s->n, sizeof *s->files, plugin_exec_file_cmp);
	s->sig = plugin_exec_scan_sig(s);
	return 0;
}

static bool
plugin_exec_file_same(const struct plugin_exec_file *f, const struct stat *st)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_size == f->size &&
	    (uint64_t)st->st_ino == f->ino &&
	    (int64_t)st->st_mtim.tv_sec == f->mtime_s &&
	    (int64_t)st->st_mtim.tv_nsec == f->mtime_ns;
}

/* Reads file f (under rootfd) into p, exactly f->size bytes.  0; 1 if it
 * is not the file the scan saw any more, or changed while being read; or
 * -1 with a reason. */
static int
plugin_exec_file_read(int rootfd, const struct plugin_exec_file *f,
    unsigned char *p, char *err, size_t errlen)
{
	struct stat	 st;
	char		 path[EXEC_PATH_MAX + 1], extra;
	const char	*last;
	uint64_t	 got = 0;
	ssize_t		 n;
	int		 dfd, fd, rc = 1;

	snprintf(path, sizeof path, "%s", f->path);
	if ((dfd = plugin_exec_parent_open(rootfd, path, false, &last)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 1;		/* moved or replaced meanwhile */
		snprintf(err, errlen, "cannot open the directory of %s: %s",
		    f->path, strerror(errno));
		return -1;
	}
	/* O_NONBLOCK: a FIFO swapped in must not block the open. */
	fd = openat(dfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return 1;
		snprintf(err, errlen, "cannot open %s: %s", f->path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !plugin_exec_file_same(f, &st))
		goto out;
	while (got < f->size) {
		n = read(fd, p + got, f->size - got > (1u << 30) ? (1u << 30) :
		    (size_t)(f->size - got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", f->path,
			    strerror(errno));
			rc = -1;
			goto out;
		}
		if (n == 0)
			goto out;		/* shrank */
		got += (uint64_t)n;
	}
	while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
		continue;
	if (n != 0 || fstat(fd, &st) != 0 || !plugin_exec_file_same(f, &st))
		goto out;			/* grew, or was written to */
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Packs the files of s into a new archive (*out, owned by the caller,
 * *outlen bytes).  0; 1 if a file changed meanwhile (try again later); or
 * -1 with a reason. */
static int
plugin_exec_pack(const char *dir, const struct plugin_exec_scan *s,
    unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	const struct plugin_exec_file	*f;
	unsigned char			*buf, *p;
	size_t				 i, plen;
	int				 rootfd, rc = 0;

	if ((rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((buf = malloc(s->archive_len)) == NULL) {
		close(rootfd);
		snprintf(err, errlen, "out of memory for %" PRIu64 " bytes",
		    s->archive_len);
		return -1;
	}
	memcpy(buf, EXEC_MAGIC, EXEC_MAGIC_LEN);
	plugin_exec_put32(buf + EXEC_MAGIC_LEN, EXEC_VERSION);
	plugin_exec_put32(buf + EXEC_MAGIC_LEN + 4, (uint32_t)s->n);
	p = buf + EXEC_HDR_LEN;
	for (i = 0; i < s->n && rc == 0; i++) {
		f = &s->files[i];
		plen = strlen(f->path);
		plugin_exec_put32(p, (uint32_t)plen);
		memcpy(p + 4, f->path, plen);
		plugin_exec_put32(p + 4 + plen, f->mode);
		plugin_exec_put64(p + 4 + plen + 4, f->size);
		p += EXEC_ENTRY_HDR_LEN + plen;
		rc = plugin_exec_file_read(rootfd, f, p, err, errlen);
		p += f->size;
	}
	close(rootfd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = (size_t)s->archive_len;
	return 0;
}

/* Logs a checkpoint problem, once until a different one (or a success). */
static void
plugin_exec_complain(struct plugin_exec *x, struct niyanta_ctx *ctx,
    const struct niyanta_host *host, const char *why)
{
	char	 msg[320];

	if (strcmp(x->complaint, why) == 0)
		return;
	snprintf(x->complaint, sizeof x->complaint, "%s", why);
	snprintf(msg, sizeof msg, "checkpoint not taken: %s", why);
	host->log(ctx, msg);
}

enum plugin_exec_take {
	EXEC_TAKE_SENT,		/* stored with the coordinator */
	EXEC_TAKE_SAME,		/* unchanged since the last one taken */
	EXEC_TAKE_BUSY,		/* a file changed while being read */
	EXEC_TAKE_BAD,		/* the directory cannot be taken (logged) */
	EXEC_TAKE_REFUSED,	/* the host did not store it (logged) */
};

/* Takes the checkpoint directory if it changed since the last time. */
static enum plugin_exec_take
plugin_exec_ckpt_take(struct plugin_exec *x, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	struct plugin_exec_scan	 s;
	unsigned char		*buf;
	size_t			 len;
	char			 why[256];
	int			 rc;

	if (plugin_exec_scan(x->ckpt_dir, &s, why, sizeof why) != 0) {
		plugin_exec_complain(x, ctx, host, why);
		return EXEC_TAKE_BAD;
	}
	if (s.sig == x->ckpt_sig) {
		plugin_exec_scan_fini(&s);
		return EXEC_TAKE_SAME;
	}
	rc = plugin_exec_pack(x->ckpt_dir, &s, &buf, &len, why, sizeof why);
	if (rc != 0) {
		plugin_exec_scan_fini(&s);
		if (rc < 0)
			plugin_exec_complain(x, ctx, host, why);
		return rc > 0 ? EXEC_TAKE_BUSY : EXEC_TAKE_BAD;
	}
	x->complaint[0] = '\0';
	/* A refused checkpoint is not sent again until the directory
	 * changes: the host already retried it, and it may be large. */
	x->ckpt_sig = s.sig;
	plugin_exec_scan_fini(&s);
	rc = host->checkpoint(ctx, buf, len);
	free(buf);
	if (rc != 0) {
		host->log(ctx, "checkpoint not stored; carrying on");
		return EXEC_TAKE_REFUSED;
	}
	return EXEC_TAKE_SENT;
}

/* Whether the workload's checkpoint policy asks for one now; a host
 * without checkpoint_due never does. */
static bool
plugin_exec_ckpt_due(struct niyanta_ctx *ctx, const struct niyanta_host *host)
{
	return host->checkpoint_due != NULL && host->checkpoint_due(ctx);
}

/* ---------------------------------------------------------------- init */

static int
plugin_exec_init(const struct niyanta_task *task, void **state, char *err,
    size_t errlen)
{
	struct plugin_exec	*x;
	json_error_t		 jerr;
	json_t			*params, *env = NULL;
	const char		*tmp;

	params = json_loads(task->params_json != NULL ? task->params_json : "{}",
	    JSON_REJECT_DUPLICATES, &jerr);
	if (params == NULL || !json_is_object(params)) {
		snprintf(err, errlen, "params: a JSON object is required%s%s",
		    params == NULL ? ": " : "", params == NULL ? jerr.text : "");
		json_decref(params);
		return -1;
	}
	if ((x = calloc(1, sizeof *x)) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(params);
		return -1;
	}
	x->timeout_s = task->timeout_seconds;
	x->ckpt_sig = EXEC_SIG_EMPTY;		/* the checkpoint dir starts empty */
	if (plugin_exec_params(x, params, &env, err, errlen) != 0)
		goto fail;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (asprintf(&x->dir, "%s/niyanta-exec-XXXXXX", tmp) < 0) {
		x->dir = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (mkdtemp(x->dir) == NULL) {
		snprintf(err, errlen, "cannot create a directory in %s: %s", tmp,
		    strerror(errno));
		free(x->dir);
		x->dir = NULL;
		goto fail;
	}
	if (asprintf(&x->ckpt_dir, "%s/checkpoint", x->dir) < 0)
		x->ckpt_dir = NULL;
	if (asprintf(&x->resume_dir, "%s/resume", x->dir) < 0)
		x->resume_dir = NULL;
	if (x->ckpt_dir == NULL || x->resume_dir == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (mkdir(x->ckpt_dir, 0700) != 0 || mkdir(x->resume_dir, 0700) != 0) {
		snprintf(err, errlen, "cannot create a directory in %s: %s", x->dir,
		    strerror(errno));
		goto fail;
	}
	if (task->checkpoint != NULL && plugin_exec_ckpt_restore(x,
	    task->checkpoint, task->checkpoint_len, err, errlen) != 0)
		goto fail;
	if (plugin_exec_env_build(x, env, task, task->checkpoint != NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_decref(params);
	*state = x;
	return 0;
fail:
	json_decref(params);
	plugin_exec_close(x);
	return -1;
}

/* ---------------------------------------------------------------- output */

/* Keeps the last EXEC_TAIL_MAX bytes of a stream. */
static void
plugin_exec_tail_add(struct plugin_exec_tail *t, const char *p, size_t n)
{
	size_t	 drop;

	if (n >= EXEC_TAIL_MAX) {
		memcpy(t->buf, p + n - EXEC_TAIL_MAX, EXEC_TAIL_MAX);
		t->len = EXEC_TAIL_MAX;
		return;
	}
	if (t->len + n > EXEC_TAIL_MAX) {
		drop = t->len + n - EXEC_TAIL_MAX;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
plugin_exec_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned	 c = p[0];
	size_t		 len, i;
	unsigned long	 cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string of the tail, each invalid byte replaced by U+FFFD. */
static json_t *
plugin_exec_tail_json(const struct plugin_exec_tail *t)
{
	const unsigned char	*p = (const unsigned char *)t->buf;
	char			*out;
	size_t			 i = 0, o = 0, len;
	json_t			*j;

	if ((out = malloc(t->len * 3 + 1)) == NULL)
		return NULL;
	while (i < t->len) {
		if ((len = plugin_exec_utf8_seq(p + i, t->len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, len);
		o += len;
		i += len;
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}


/* Makes s[0..len) fit for a progress message, in place: each control
 * character becomes a space, each byte of invalid UTF-8 a '?'. */
static void
plugin_exec_text_clean(char *s, size_t len)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 i = 0, n;

	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			p[i++] = ' ';
			continue;
		}
		if ((n = plugin_exec_utf8_seq(p + i, len - i)) == 0) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
}

/* Handles one line of stdout (in l->buf, l->len bytes): a progress report
 * "NIYANTA_PROGRESS <percent> [message]" goes to the host. */
static void
plugin_exec_line_done(struct plugin_exec_lines *l, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	const size_t	 wl = sizeof EXEC_PROGRESS_WORD - 1;
	char		*s = l->buf, *end, *msg;
	size_t		 len = l->len;
	double		 pct;

	if (len < wl || memcmp(s, EXEC_PROGRESS_WORD, wl) != 0)
		return;
	while (len > wl && (s[len - 1] == '\r' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t'))
		len--;
	s[len] = '\0';
	s += wl;
	if (*s != '\0' && *s != ' ' && *s != '\t')
		return;				/* another word, not ours */
	while (*s == ' ' || *s == '\t')
		s++;
	pct = strtod(s, &end);
	if (end == s || !isfinite(pct) ||
	    (*end != '\0' && *end != ' ' && *end != '\t')) {
		if (!l->complained) {
			l->complained = true;
			host->log(ctx, "ignored a malformed progress line (the "
			    "form is \"" EXEC_PROGRESS_WORD " <percent> "
			    "[message]\")");
		}
		return;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	msg = end;
	plugin_exec_text_clean(msg, strlen(msg));
	host->progress(ctx, pct, msg[0] != '\0' ? msg : NULL);
}

/* Cuts stdout into lines for plugin_exec_line_done.  A line longer than
 * the buffer is examined by its start, the rest is dropped. */
static void
plugin_exec_lines_add(struct plugin_exec_lines *l, const char *p, size_t n,
    struct niyanta_ctx *ctx, const struct niyanta_host *host)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!l->skipping)
				plugin_exec_line_done(l, ctx, host);
			l->len = 0;
			l->skipping = false;
		} else if (l->skipping) {
			continue;
		} else if (l->len == sizeof l->buf - 1) {
			plugin_exec_line_done(l, ctx, host);
			l->len = 0;
			l->skipping = true;
		} else
			l->buf[l->len++] = p[i];
	}
}

/* The last line, if the output did not end with a newline. */
static void
plugin_exec_lines_end(struct plugin_exec_lines *l, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	if (!l->skipping && l->len > 0)
		plugin_exec_line_done(l, ctx, host);
	l->len = 0;
}

/* Reads what fd has (a bounded amount, so a flood of output cannot keep
 * the caller from its other duties) into t, and into l if not NULL;
 * returns false once fd reached EOF or failed. */
static bool
plugin_exec_drain(int fd, struct plugin_exec_tail *t, struct plugin_exec_lines *l,
    struct niyanta_ctx *ctx, const struct niyanta_host *host)
{
	char	 buf[8192];
	ssize_t	 n;
	int	 reads = 0;

	while (reads < 32) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			plugin_exec_tail_add(t, buf, (size_t)n);
			if (l != NULL)
				plugin_exec_lines_add(l, buf, (size_t)n, ctx, host);
			reads++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- running */

/* Takes the directory once more after a stopped child exited; a straggling
 * descendant may still be writing, so a busy take is tried again. */
static void
plugin_exec_ckpt_final(struct plugin_exec *x, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	int	 i;

	for (i = 0; i < EXEC_CKPT_FINAL_TRIES; i++) {
		if (plugin_exec_ckpt_take(x, ctx, host) != EXEC_TAKE_BUSY)
			return;
		poll(NULL, 0, EXEC_TICK_MS);
	}
	host->log(ctx, "checkpoint not taken: its files kept changing after "
	    "the command stopped");
}

enum plugin_exec_end { EXEC_RUNNING, EXEC_STOP, EXEC_TIMEOUT };

static int
plugin_exec_spawn(struct plugin_exec *x, pid_t *pid, int outfd[2], int errfd[2])
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, dfl;
	int				 rc;

	if (pipe2(outfd, O_CLOEXEC) != 0)
		return errno;
	if (pipe2(errfd, O_CLOEXEC) != 0) {
		rc = errno;
		close(outfd[0]);
		close(outfd[1]);
		return rc;
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGUSR1);
	sigaddset(&dfl, SIGUSR2);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGALRM);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail_pipes;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail_pipes;
	}
	if ((x->cwd == NULL ||
	    (rc = posix_spawn_file_actions_addchdir_np(&fa, x->cwd)) == 0) &&
	    (rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, outfd[1], STDOUT_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, errfd[1], STDERR_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)) == 0)
		rc = posix_spawnp(pid, x->argv[0], &fa, &attr, x->argv, x->envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		goto fail_pipes;
	close(outfd[1]);
	close(errfd[1]);
	outfd[1] = errfd[1] = -1;
	fcntl(outfd[0], F_SETFL, O_NONBLOCK);
	fcntl(errfd[0], F_SETFL, O_NONBLOCK);
	return 0;
fail_pipes:
	close(outfd[0]);
	close(outfd[1]);
	close(errfd[0]);
	close(errfd[1]);
	return rc;
}

static void
plugin_exec_result(struct niyanta_ctx *ctx, const struct niyanta_host *host,
    int status, bool exited, const struct plugin_exec_tail *out,
    const struct plugin_exec_tail *errt)
{
	json_t	*o;
	char	*text;

	if ((o = json_object()) == NULL)
		return;
	json_object_set_new(o, "exit_code", exited && WIFEXITED(status) ?
	    json_integer(WEXITSTATUS(status)) : json_null());
	json_object_set_new(o, "signal", exited && WIFSIGNALED(status) ?
	    json_integer(WTERMSIG(status)) : json_null());
	json_object_set_new(o, "stdout_tail", plugin_exec_tail_json(out));
	json_object_set_new(o, "stderr_tail", plugin_exec_tail_json(errt));
	if ((text = json_dumps(o, JSON_COMPACT)) != NULL) {
		host->set_result(ctx, text);
		free(text);
	}
	json_decref(o);
}


static int
plugin_exec_execute(void *state, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	struct plugin_exec	*x = state;
	struct plugin_exec_tail	*out, *errt;
	struct plugin_exec_lines *lines;
	struct pollfd		 pfd[2];
	enum plugin_exec_end	 end = EXEC_RUNNING;
	uint64_t		 start, now, term_at = 0, last_scan;
	bool			 reaped = false, killed = false, lost = false;
	bool			 out_open, err_open, due, was_due = false;
	int			 outfd[2], errfd[2], status = 0, rc, i;
	nfds_t			 nfds;
	pid_t			 pid, r;
	char			 msg[256];

	out = calloc(1, sizeof *out);
	errt = calloc(1, sizeof *errt);
	lines = calloc(1, sizeof *lines);
	if (out == NULL || errt == NULL || lines == NULL) {
		free(out);
		free(errt);
		free(lines);
		host->set_error(ctx, "cannot start: out of memory");
		return NIYANTA_FAILED;
	}
	if ((rc = plugin_exec_spawn(x, &pid, outfd, errfd)) != 0) {
		snprintf(msg, sizeof msg, "cannot start: %s", strerror(rc));
		host->set_error(ctx, msg);
		plugin_exec_result(ctx, host, 0, false, out, errt);
		free(out);
		free(errt);
		free(lines);
		return NIYANTA_FAILED;
	}
	out_open = err_open = true;
	start = last_scan = clock_mono_ms();
	while (!reaped) {
		nfds = 0;
		if (out_open) {
			pfd[nfds].fd = outfd[0];
			pfd[nfds++].events = POLLIN;
		}
		if (err_open) {
			pfd[nfds].fd = errfd[0];
			pfd[nfds++].events = POLLIN;
		}
		/* With both pipes at EOF the child is exiting: look often. */
		if (poll(pfd, nfds, nfds > 0 ? EXEC_TICK_MS : 10) > 0) {
			for (i = 0; i < (int)nfds; i++) {
				if (pfd[i].revents == 0)
					continue;
				if (pfd[i].fd == outfd[0])
					out_open = plugin_exec_drain(outfd[0], out,
					    lines, ctx, host);
				else
					err_open = plugin_exec_drain(errfd[0], errt,
					    NULL, ctx, host);
			}
		}
		if ((r = waitpid(pid, &status, WNOHANG)) == pid) {
			reaped = true;
			break;
		}
		if (r < 0 && errno == ECHILD) {
			/* Someone else reaped it (SIGCHLD ignored?). */
			reaped = lost = true;
			status = 0;
			break;
		}
		now = clock_mono_ms();
		due = false;
		if (end == EXEC_RUNNING) {
			if (host->should_stop(ctx))
				end = EXEC_STOP;
			else if (x->timeout_s > 0 &&
			    now - start >= (uint64_t)x->timeout_s * 1000)
				end = EXEC_TIMEOUT;
			if (end != EXEC_RUNNING) {
				kill(-pid, SIGTERM);
				term_at = now;
			} else
				due = plugin_exec_ckpt_due(ctx, host);
		} else if (!killed && now - term_at >= EXEC_KILL_GRACE_MS) {
			kill(-pid, SIGKILL);
			killed = true;
		}
		/* The directory is looked at once a second, and at once when
		 * the policy starts asking for a checkpoint; it is taken if it
		 * changed.  (Asking stops once one is stored.) */
		if (now - last_scan >= EXEC_CKPT_EVERY_MS || (due && !was_due)) {
			plugin_exec_ckpt_take(x, ctx, host);
			last_scan = clock_mono_ms();
		}
		was_due = due;
	}
	/* What the child wrote just before exiting is still in the pipes;
	 * descendants that kept them open are not waited for. */
	if (out_open)
		plugin_exec_drain(outfd[0], out, lines, ctx, host);
	if (err_open)
		plugin_exec_drain(errfd[0], errt, NULL, ctx, host);
	close(outfd[0]);
	close(errfd[0]);
	plugin_exec_lines_end(lines, ctx, host);
	free(lines);
	if (end == EXEC_STOP)
		plugin_exec_ckpt_final(x, ctx, host);

	plugin_exec_result(ctx, host, status, !lost, out, errt);
	free(out);
	free(errt);
	switch (end) {
	case EXEC_STOP:
		host->set_error(ctx, "stopped");
		return NIYANTA_STOPPED;
	case EXEC_TIMEOUT:
		snprintf(msg, sizeof msg, "timed out after %u s",
		    (unsigned)x->timeout_s);
		host->set_error(ctx, msg);
		return NIYANTA_FAILED;
	case EXEC_RUNNING:
		break;
	}
	if (lost) {
		host->set_error(ctx, "exit status lost (child reaped elsewhere)");
		return NIYANTA_FAILED;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NIYANTA_SUCCEEDED;
	if (WIFSIGNALED(status))
		snprintf(msg, sizeof msg, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(msg, sizeof msg, "exited with status %d",
		    WEXITSTATUS(status));
	host->set_error(ctx, msg);
	return NIYANTA_FAILED;
}

static const struct niyanta_plugin plugin_exec = {
	.abi_version = NIYANTA_PLUGIN_ABI_VERSION,
	.type_name = "exec",
	.init = plugin_exec_init,
	.execute = plugin_exec_execute,
	.close = plugin_exec_close,
};

const struct niyanta_plugin *
plugin_exec_get(void)
{
	return &plugin_exec;
}
