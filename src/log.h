/*
 * The one way a process writes its log: a level, a short stable ID that
 * operators can grep for, and a message.  Lines go to stderr (journald
 * captures them under systemd).
 */
#ifndef SRC_LOG_H
#define SRC_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Sets the process name shown on every line and the minimum level. */
void	log_init(const char *progname, enum log_level min);

/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int	log_level_parse(const char *name);

void	log_msg(enum log_level lvl, const char *id, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_debug(id, ...)	log_msg(LOG_LEVEL_DEBUG, (id), __VA_ARGS__)
#define log_info(id, ...)	log_msg(LOG_LEVEL_INFO, (id), __VA_ARGS__)
#define log_warn(id, ...)	log_msg(LOG_LEVEL_WARN, (id), __VA_ARGS__)
#define log_error(id, ...)	log_msg(LOG_LEVEL_ERROR, (id), __VA_ARGS__)

/* Logs and exits with status 1; for unrecoverable daemon start-up errors. */
void	log_fatal(const char *id, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif /* SRC_LOG_H */
