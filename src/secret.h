/*
 * Secrets: random API keys and join tokens, their SHA-256 hashes (the only
 * form the state machine stores), and the 0600 files they are handed out in.
 */
#ifndef SRC_SECRET_H
#define SRC_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errbuf;

#define SECRET_TEXT_MAX		128	/* room for any secret text, with NUL */
#define SECRET_PREFIX_KEY	"nyk_"	/* API keys */
#define SECRET_PREFIX_JOIN	"nyj_"	/* worker join tokens */

/* Initialises libsodium; call once before any other secret_ function.
 * 0 or ERR_INTERNAL. */
int	secret_init(void);
/* Writes prefix followed by 256 random bits in base64url into out. */
void	secret_generate(char out[SECRET_TEXT_MAX], const char *prefix);
/* SHA-256 of the text. */
void	secret_hash(const char *text, uint8_t out[32]);
/* Constant-time comparison of two hashes. */
bool	secret_hash_equal(const uint8_t a[32], const uint8_t b[32]);
/* Lower-case hex of a hash into out (65 bytes with NUL). */
void	secret_hash_hex(const uint8_t h[32], char out[65]);

/* Writes text and a newline to path with mode 0600, atomically (temporary
 * file, fsync, rename).  0 or ERR_IO. */
int	secret_file_write(const char *path, const char *text, struct errbuf *eb);
/* Reads the first line of path, without surrounding whitespace, into out.
 * ERR_NOTFOUND if the file does not exist, ERR_IO, ERR_INVAL if empty or
 * too long. */
int	secret_file_read(const char *path, char out[SECRET_TEXT_MAX], struct errbuf *eb);

#endif /* SRC_SECRET_H */
