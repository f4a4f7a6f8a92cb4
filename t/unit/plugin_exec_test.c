/*
 * The "exec" workload type through its plugin interface, against a fake
 * host: checkpoints of the command's directory (taken when the policy asks,
 * once a second when it changed, after a stopped child), resuming from
 * them, refusing what cannot be checkpointed, progress lines on stdout, and
 * init's clear refusal of every kind of malformed checkpoint archive.
 * Real child processes (sh) run; each case takes at most a second or two.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "niyanta/plugin.h"
#include "src/plugin_registry.h"
#include "t/tap.h"

#define T_MAX_CKPTS	8

/* What the fake host saw of one attempt. */
struct niyanta_ctx {
	const char	*due_file;	/* checkpoint_due: true once it exists */
	const char	*stop_file;	/* should_stop: true once it exists */
	const char	*go_file;	/* created on each checkpoint and complaint */
	void		*ckpt[T_MAX_CKPTS];
	size_t		 ckpt_len[T_MAX_CKPTS];
	int		 nckpt;
	double		 progress;
	char		*progress_msg;
	int		 nprogress;
	char		*result;
	char		*error;
	char		 logs[4096];
};

static char	 t_dir[] = "/tmp/plugin-exec-test.XXXXXX";
static char	 t_tmp[256];		/* TMPDIR of the plugin */
static char	 t_mark[256], t_go[256];

static bool
t_exists(const char *path)
{
	return path != NULL && access(path, F_OK) == 0;
}

static void
t_touch(const char *path)
{
	int	 fd;

	if (path != NULL && (fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0)
		close(fd);
}

static void
t_progress(struct niyanta_ctx *ctx, double percent, const char *message)
{
	ctx->progress = percent;
	free(ctx->progress_msg);
	ctx->progress_msg = message != NULL ? strdup(message) : NULL;
	ctx->nprogress++;
}

static int
t_checkpoint(struct niyanta_ctx *ctx, const void *data, size_t len)
{
	if (ctx->nckpt == T_MAX_CKPTS)
		return -1;
	ctx->ckpt[ctx->nckpt] = malloc(len > 0 ? len : 1);
	memcpy(ctx->ckpt[ctx->nckpt], data, len);
	ctx->ckpt_len[ctx->nckpt++] = len;
	t_touch(ctx->go_file);
	return 0;
}

static bool
t_should_stop(struct niyanta_ctx *ctx)
{
	return t_exists(ctx->stop_file);
}

static void
t_set_result(struct niyanta_ctx *ctx, const char *json_text)
{
	free(ctx->result);
	ctx->result = strdup(json_text);
}

static void
t_set_error(struct niyanta_ctx *ctx, const char *message)
{
	free(ctx->error);
	ctx->error = strdup(message);
}

static void
t_log(struct niyanta_ctx *ctx, const char *message)
{
	size_t	 n = strlen(ctx->logs);

	snprintf(ctx->logs + n, sizeof ctx->logs - n, "%s\n", message);
	if (strstr(message, "checkpoint not taken") != NULL)
		t_touch(ctx->go_file);
}

/* Due while due_file exists and nothing was stored yet. */
static bool
t_checkpoint_due(struct niyanta_ctx *ctx)
{
	return t_exists(ctx->due_file) && ctx->nckpt == 0;
}

static const struct niyanta_host t_host = {
	.progress = t_progress,
	.checkpoint = t_checkpoint,
	.should_stop = t_should_stop,
	.set_result = t_set_result,
	.set_error = t_set_error,
	.log = t_log,
	.checkpoint_due = t_checkpoint_due,
};

/* A host of an older worker: no checkpoint_due. */
static const struct niyanta_host t_host_nodue = {
	.progress = t_progress,
	.checkpoint = t_checkpoint,
	.should_stop = t_should_stop,
	.set_result = t_set_result,
	.set_error = t_set_error,
	.log = t_log,
};

static void
t_ctx_fini(struct niyanta_ctx *ctx)
{
	int	 i;

	for (i = 0; i < ctx->nckpt; i++)
		free(ctx->ckpt[i]);
	free(ctx->progress_msg);
	free(ctx->result);
	free(ctx->error);
	memset(ctx, 0, sizeof *ctx);
	unlink(t_mark);
	unlink(t_go);
}

/* True if the plugin's TMPDIR holds nothing (every attempt cleaned up). */
static bool
t_tmp_empty(void)
{
	char	 cmd[512];

	snprintf(cmd, sizeof cmd, "[ -z \"$(ls -A '%s')\" ]", t_tmp);
	return system(cmd) == 0;
}

/* Runs sh -c script as one attempt (resuming from ckpt if not NULL);
 * returns the outcome, or -1 if init failed (its reason in err). */
static int
t_run(const char *script, const void *ckpt, size_t ckpt_len,
    const struct niyanta_host *host, struct niyanta_ctx *ctx, char *err,
    size_t errlen)
{
	const struct niyanta_plugin	*p = plugin_exec_get();
	struct niyanta_task		 task;
	json_t				*params;
	char				*text;
	void				*state = NULL;
	int				 rc;

	params = json_pack("{s:[s,s,s], s:{s:s, s:s}}", "argv", "sh", "-c",
	    script, "env", "MARK", t_mark, "GO", t_go);
	text = json_dumps(params, JSON_COMPACT);
	json_decref(params);
	memset(&task, 0, sizeof task);
	task.workload_id = "00000000-0000-4000-8000-000000000001";
	task.attempt = ckpt != NULL ? 2 : 1;
	task.type_name = "exec";
	task.params_json = text;
	task.checkpoint = ckpt;
	task.checkpoint_len = ckpt_len;
	err[0] = '\0';
	if (p->init(&task, &state, err, errlen) != 0) {
		free(text);
		return -1;
	}
	rc = p->execute(state, ctx, host);
	p->close(state);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- archives */

struct t_buf {
	unsigned char	 b[8192];
	size_t		 len;
};

static void
t_put(struct t_buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static void
t_put32(struct t_buf *b, uint32_t v)
{
	unsigned char	 p[4] = { v >> 24, v >> 16, v >> 8, v };

	t_put(b, p, 4);
}

static void
t_put64(struct t_buf *b, uint64_t v)
{
	t_put32(b, (uint32_t)(v >> 32));
	t_put32(b, (uint32_t)v);
}

static void
t_header(struct t_buf *b, uint32_t version, uint32_t count)
{
	b->len = 0;
	t_put(b, "NIYXCKPT", 8);
	t_put32(b, version);
	t_put32(b, count);
}

static void
t_entry(struct t_buf *b, const char *path, uint32_t mode, const char *data)
{
	t_put32(b, (uint32_t)strlen(path));
	t_put(b, path, strlen(path));
	t_put32(b, mode);
	t_put64(b, strlen(data));
	t_put(b, data, strlen(data));
}

static uint32_t
t_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Describes an archive as "path:mode:size,..." for comparison. */
static void
t_describe(const unsigned char *a, size_t len, char *out, size_t outlen)
{
	size_t		 off = 16, o = 0;
	uint32_t	 n, i, plen, mode;
	uint64_t	 size;

	out[0] = '\0';
	if (len < 16 || memcmp(a, "NIYXCKPT", 8) != 0 || t_get32(a + 8) != 1) {
		snprintf(out, outlen, "(bad header)");
		return;
	}
	n = t_get32(a + 12);
	for (i = 0; i < n && off + 4 <= len; i++) {
		plen = t_get32(a + off);
		mode = t_get32(a + off + 4 + plen);
		size = (uint64_t)t_get32(a + off + 8 + plen) << 32 |
		    t_get32(a + off + 12 + plen);
		o += (size_t)snprintf(out + o, outlen - o, "%s%.*s:%o:%llu",
		    i > 0 ? "," : "", (int)plen, (const char *)a + off + 4, mode,
		    (unsigned long long)size);
		off += 16 + plen + size;
	}
	if (off != len)
		snprintf(out + o, outlen - o, " (%zu bytes left over)", len - off);
}

/* ---------------------------------------------------------------- cases */

/* The state a first attempt leaves, as an archive for the resume case. */
static void		*t_saved;
static size_t		 t_saved_len;

static void
test_due_take_and_progress(void)
{
	struct niyanta_ctx	 ctx = { 0 };
	char			 err[512], desc[512];
	int			 rc;

	/* The command checks its environment, writes its state (a
	 * subdirectory, a mode, an empty file), reports progress, then lets
	 * the policy ask and waits until the checkpoint is stored. */
	ctx.due_file = t_mark;
	ctx.go_file = t_go;
	rc = t_run(
	    "[ -d \"$NIYANTA_RESUME_DIR\" ] || exit 10\n"
	    "[ -z \"$(ls -A \"$NIYANTA_RESUME_DIR\")\" ] || exit 11\n"
	    "[ -z \"${NIYANTA_CHECKPOINT_RESUMED+x}\" ] || exit 12\n"
	    "[ -z \"${NIYANTA_CHECKPOINT_FILE+x}\" ] || exit 13\n"
	    "[ -z \"$(ls -A \"$NIYANTA_CHECKPOINT_DIR\")\" ] || exit 14\n"
	    "cd \"$NIYANTA_CHECKPOINT_DIR\" || exit 15\n"
	    "mkdir -p sub/deeper\n"
	    "printf hello >state.tmp && mv state.tmp state\n"
	    "printf 'x\\ny\\n' >sub/deeper/data && chmod 640 sub/deeper/data\n"
	    ": >empty\n"
	    "echo 'NIYANTA_PROGRESS 42.5  halfway there '\n"
	    "echo 'NIYANTA_PROGRESS bogus'\n"
	    "echo 'NIYANTA_PROGRESSIVE 7'\n"
	    "touch \"$MARK\"\n"
	    "i=0; while [ ! -e \"$GO\" ]; do i=$((i+1)); [ $i -lt 500 ] || exit 16; "
	    "sleep 0.01; done\n"
	    "printf 'NIYANTA_PROGRESS 99 last\\r'\n",
	    NULL, 0, &t_host, &ctx, err, sizeof err);
	is_int(rc, NIYANTA_SUCCEEDED, "a fresh attempt succeeds");
	if (rc != NIYANTA_SUCCEEDED)
		tap_diag("error %s, result %s, log %s", ctx.error, ctx.result,
		    ctx.logs);
	is_int(ctx.nckpt, 1, "one checkpoint, taken when the policy asked");
	if (ctx.nckpt == 1) {
		t_describe(ctx.ckpt[0], ctx.ckpt_len[0], desc, sizeof desc);
		is_str(desc, "empty:644:0,state:644:5,sub/deeper/data:640:4",
		    "the archive holds every file, sorted, with modes and sizes");
		t_saved = ctx.ckpt[0];
		t_saved_len = ctx.ckpt_len[0];
		ctx.nckpt = 0;
	}
	ok(ctx.nprogress == 2, "two progress reports (got %d)", ctx.nprogress);
	ok(ctx.progress == 99.0 && ctx.progress_msg != NULL &&
	    strcmp(ctx.progress_msg, "last") == 0,
	    "the last one, without a newline, is seen at exit (%g \"%s\")",
	    ctx.progress, ctx.progress_msg ? ctx.progress_msg : "(null)");
	ok(strstr(ctx.logs, "malformed progress line") != NULL,
	    "a malformed progress line is logged");
	ok(strstr(ctx.result, "NIYANTA_PROGRESS 42.5") != NULL,
	    "progress lines stay in stdout_tail");
	ok(t_tmp_empty(), "the attempt's directories are removed");
	t_ctx_fini(&ctx);
}

static void
test_resume(void)
{
	struct niyanta_ctx	 ctx = { 0 };
	char			 err[512];
	int			 rc;

	if (t_saved == NULL) {
		ok(0, "resume (no checkpoint from the first case)");
		return;
	}
	ctx.go_file = t_go;
	rc = t_run(
	    "[ \"$NIYANTA_CHECKPOINT_RESUMED\" = 1 ] || exit 10\n"
	    "[ -z \"$(ls -A \"$NIYANTA_CHECKPOINT_DIR\")\" ] || exit 11\n"
	    "cd \"$NIYANTA_RESUME_DIR\" || exit 12\n"
	    "echo \"state=$(cat state)\"\n"
	    "echo \"mode=$(stat -c %a sub/deeper/data)\"\n"
	    "echo \"data=$(tr '\\n' . <sub/deeper/data)\"\n"
	    "[ -f empty ] && [ ! -s empty ] && echo empty-ok\n",
	    t_saved, t_saved_len, &t_host, &ctx, err, sizeof err);
	is_int(rc, NIYANTA_SUCCEEDED, "the resumed attempt succeeds");
	if (rc != NIYANTA_SUCCEEDED)
		tap_diag("init %s, error %s, result %s", err, ctx.error, ctx.result);
	ok(ctx.result != NULL && strstr(ctx.result, "state=hello") != NULL &&
	    strstr(ctx.result, "mode=640") != NULL &&
	    strstr(ctx.result, "data=x.y.") != NULL &&
	    strstr(ctx.result, "empty-ok") != NULL,
	    "it finds the files, contents and modes in NIYANTA_RESUME_DIR");
	is_int(ctx.nckpt, 0, "an untouched checkpoint directory is not sent");
	ok(t_tmp_empty(), "the attempt's directories are removed");
	t_ctx_fini(&ctx);
}

static void
test_stop_takes_last(void)
{
	struct niyanta_ctx	 ctx = { 0 };
	char			 err[512], desc[512];
	int			 rc;

	/* No checkpoint_due in this host: only the final take sends. */
	ctx.stop_file = t_mark;
	ctx.go_file = t_go;
	rc = t_run(
	    "cd \"$NIYANTA_CHECKPOINT_DIR\" || exit 10\n"
	    "trap 'printf two >s.tmp && mv s.tmp s; exit 0' TERM\n"
	    "printf one >s.tmp && mv s.tmp s\n"
	    "mkdir -p locked/in && chmod 500 locked/in locked\n"
	    "touch \"$MARK\"\n"
	    "while :; do sleep 0.05; done\n",
	    NULL, 0, &t_host_nodue, &ctx, err, sizeof err);
	is_int(rc, NIYANTA_STOPPED, "a stopped attempt says so");
	is_int(ctx.nckpt, 1, "one checkpoint, after the child exited");
	if (ctx.nckpt == 1) {
		t_describe(ctx.ckpt[0], ctx.ckpt_len[0], desc, sizeof desc);
		is_str(desc, "s:644:3", "it holds what the child wrote as it stopped");
		ok(ctx.ckpt_len[0] >= 3 && memcmp((char *)ctx.ckpt[0] +
		    ctx.ckpt_len[0] - 3, "two", 3) == 0, "the contents are \"two\"");
	}
	ok(t_tmp_empty(), "directories the command locked are removed too");
	t_ctx_fini(&ctx);
}

static void
test_every_second(void)
{
	struct niyanta_ctx	 ctx = { 0 };
	char			 err[512];
	int			 rc;

	rc = t_run(
	    "printf 1 >\"$NIYANTA_CHECKPOINT_DIR/n.tmp\" && "
	    "mv \"$NIYANTA_CHECKPOINT_DIR/n.tmp\" \"$NIYANTA_CHECKPOINT_DIR/n\"\n"
	    "sleep 2.3\n",
	    NULL, 0, &t_host_nodue, &ctx, err, sizeof err);
	is_int(rc, NIYANTA_SUCCEEDED, "a command that writes once and sleeps");
	is_int(ctx.nckpt, 1, "is checkpointed by the once-a-second look, once");
	t_ctx_fini(&ctx);
}

static void
test_refusals(void)
{
	struct niyanta_ctx	 ctx = { 0 };
	char			 err[512];
	int			 rc;

	ctx.due_file = t_mark;
	ctx.go_file = t_go;
	rc = t_run(
	    "cd \"$NIYANTA_CHECKPOINT_DIR\" || exit 10\n"
	    "printf x >state && ln -s /etc/passwd link\n"
	    "touch \"$MARK\"\n"
	    "i=0; while [ ! -e \"$GO\" ]; do i=$((i+1)); [ $i -lt 500 ] || exit 16; "
	    "sleep 0.01; done\n",
	    NULL, 0, &t_host, &ctx, err, sizeof err);
	is_int(rc, NIYANTA_SUCCEEDED, "a command that leaves a symbolic link");
	is_int(ctx.nckpt, 0, "gets no checkpoint");
	if (!ok(strstr(ctx.logs, "checkpoint not taken: link is a symbolic "
	    "link") != NULL, "and the reason is logged"))
		tap_diag("log: %s", ctx.logs);
	t_ctx_fini(&ctx);

	ctx.due_file = t_mark;
	ctx.go_file = t_go;
	rc = t_run(
	    "cd \"$NIYANTA_CHECKPOINT_DIR\" || exit 10\n"
	    "mkfifo pipe\n"
	    "touch \"$MARK\"\n"
	    "i=0; while [ ! -e \"$GO\" ]; do i=$((i+1)); [ $i -lt 500 ] || exit 16; "
	    "sleep 0.01; done\n",
	    NULL, 0, &t_host, &ctx, err, sizeof err);
	if (!ok(rc == NIYANTA_SUCCEEDED && ctx.nckpt == 0 &&
	    strstr(ctx.logs, "pipe is a FIFO") != NULL, "a FIFO is refused too"))
		tap_diag("rc %d, %d checkpoints, log: %s", rc, ctx.nckpt, ctx.logs);
	t_ctx_fini(&ctx);
}

/* init must refuse archive a with a reason containing want. */
static void
t_refused(const void *a, size_t len, const char *want, const char *name)
{
	struct niyanta_ctx	 ctx = { 0 };
	char			 err[512];
	int			 rc;

	rc = t_run("exit 0", a, len, &t_host, &ctx, err, sizeof err);
	if (ok(rc == -1 && strstr(err, want) != NULL, "%s: refused", name))
		tap_diag("%s", err);
	else
		tap_diag("rc %d, err \"%s\", want \"%s\"", rc, err, want);
	t_ctx_fini(&ctx);
}

static void
test_corrupt(void)
{
	struct t_buf	 b;
	struct niyanta_ctx ctx = { 0 };
	char		 err[512];
	int		 rc;

	t_refused("", 0, "not an exec checkpoint archive (too short)",
	    "an empty checkpoint");
	t_refused("hello, this is not an archive", 29,
	    "not an exec checkpoint archive (bad magic)", "a foreign checkpoint");
	t_header(&b, 2, 0);
	t_refused(b.b, b.len, "archive version 2 is not supported", "version 2");
	t_header(&b, 1, 1000000);
	t_refused(b.b, b.len, "1000000 entries (limit", "too many entries");
	if (t_saved != NULL) {
		t_refused(t_saved, t_saved_len - 1, "entry 3 of 3 is truncated",
		    "a truncated archive");
		memcpy(b.b, t_saved, t_saved_len);
		b.b[t_saved_len] = 'x';
		t_refused(b.b, t_saved_len + 1, "1 byte after the last of 3 entries",
		    "trailing bytes");
	}
	t_header(&b, 1, 1);
	t_entry(&b, "../evil", 0644, "x");
	t_refused(b.b, b.len, "entry 1 has an unsafe path \"../evil\"", "a .. path");
	t_header(&b, 1, 1);
	t_entry(&b, "a/../../evil", 0644, "x");
	t_refused(b.b, b.len, "unsafe path", "a .. inside a path");
	t_header(&b, 1, 1);
	t_entry(&b, "/etc/evil", 0644, "x");
	t_refused(b.b, b.len, "unsafe path \"/etc/evil\"", "an absolute path");
	t_header(&b, 1, 1);
	t_entry(&b, "a//b", 0644, "x");
	t_refused(b.b, b.len, "unsafe path", "an empty component");
	t_header(&b, 1, 1);
	t_entry(&b, "./a", 0644, "x");
	t_refused(b.b, b.len, "unsafe path", "a . component");
	t_header(&b, 1, 1);
	t_put32(&b, 3);
	t_put(&b, "a\0b", 3);
	t_put32(&b, 0644);
	t_put64(&b, 0);
	t_refused(b.b, b.len, "unsafe path \"a?b\"", "a NUL in a path");
	t_header(&b, 1, 1);
	t_put32(&b, 0);
	t_put32(&b, 0644);
	t_put64(&b, 0);
	t_refused(b.b, b.len, "path length 0", "an empty path");
	t_header(&b, 1, 1);
	t_put32(&b, 100000);
	t_refused(b.b, b.len, "path length 100000", "a huge path length");
	t_header(&b, 1, 1);
	t_entry(&b, "setuid", 04755, "x");
	t_refused(b.b, b.len, "mode 04755 is not permission bits", "a setuid mode");
	t_header(&b, 1, 2);
	t_entry(&b, "b", 0644, "x");
	t_entry(&b, "a", 0644, "x");
	t_refused(b.b, b.len, "entry 2 \"a\" is out of order", "unsorted entries");
	t_header(&b, 1, 2);
	t_entry(&b, "a", 0644, "x");
	t_entry(&b, "a", 0644, "y");
	t_refused(b.b, b.len, "out of order or repeated", "a repeated path");
	t_header(&b, 1, 1);
	t_put32(&b, 1);
	t_put(&b, "a", 1);
	t_put32(&b, 0644);
	t_put64(&b, UINT64_MAX);
	t_refused(b.b, b.len, "entry 1 of 1 is truncated", "a huge size");
	t_header(&b, 1, 2);
	t_entry(&b, "a", 0644, "x");
	t_entry(&b, "a/b", 0644, "y");
	t_refused(b.b, b.len, "cannot restore \"a/b\"", "a file used as a directory");
	ok(t_tmp_empty(), "refused attempts leave nothing behind");

	/* An empty archive is a valid, empty checkpoint. */
	t_header(&b, 1, 0);
	rc = t_run("[ \"$NIYANTA_CHECKPOINT_RESUMED\" = 1 ] && "
	    "[ -z \"$(ls -A \"$NIYANTA_RESUME_DIR\")\" ]",
	    b.b, b.len, &t_host, &ctx, err, sizeof err);
	is_int(rc, NIYANTA_SUCCEEDED, "an empty archive resumes with no files");
	t_ctx_fini(&ctx);
}

int
main(void)
{
	umask(022);			/* the modes the cases expect */
	if (mkdtemp(t_dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(t_tmp, sizeof t_tmp, "%s/tmp", t_dir);
	snprintf(t_mark, sizeof t_mark, "%s/mark", t_dir);
	snprintf(t_go, sizeof t_go, "%s/go", t_dir);
	if (mkdir(t_tmp, 0700) != 0 || setenv("TMPDIR", t_tmp, 1) != 0) {
		printf("Bail out! %s: %s\n", t_tmp, strerror(errno));
		return 1;
	}
	test_due_take_and_progress();
	test_resume();
	test_stop_takes_last();
	test_every_second();
	test_refusals();
	test_corrupt();
	free(t_saved);
	rmdir(t_tmp);
	rmdir(t_dir);
	return tap_done();
}
