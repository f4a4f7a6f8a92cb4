/*
 * The one table of error codes, and the errbuf that carries their context.
 */
#include "src/err.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	const char	*code;
	int		 status;
} err_table[] = {
#define ERR_ROW(name, status, code) { code, status },
	ERR_TABLE(ERR_ROW)
#undef ERR_ROW
};

const char *
err_code_name(int err)
{
	if (err < 0 || err >= ERR__COUNT)
		return "internal";
	return err_table[err].code;
}

int
err_http_status(int err)
{
	if (err < 0 || err >= ERR__COUNT)
		return 500;
	return err_table[err].status;
}

int
err_setf(struct errbuf *eb, int err, const char *fmt, ...)
{
	va_list	 ap;

	if (eb == NULL)
		return err;
	eb->code = err;
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
	va_end(ap);
	return err;
}

void
errbuf_clear(struct errbuf *eb)
{
	if (eb == NULL)
		return;
	eb->code = 0;
	eb->msg[0] = '\0';
}
