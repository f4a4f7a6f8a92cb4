/*
 * Secret generation, hashing and files.  Keys carry 256 random bits, so a
 * plain SHA-256 (no salt, no stretching) is the right hash: nothing can be
 * guessed, and lookups by hash stay O(1).
 */
#include "src/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/err.h"

int
secret_init(void)
{
	return sodium_init() < 0 ? ERR_INTERNAL : 0;
}

void
secret_generate(char out[SECRET_TEXT_MAX], const char *prefix)
{
	unsigned char	 raw[32];
	size_t		 plen = strlen(prefix);

	randombytes_buf(raw, sizeof raw);
	memcpy(out, prefix, plen);
	sodium_bin2base64(out + plen, SECRET_TEXT_MAX - plen, raw, sizeof raw,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void
secret_hash(const char *text, uint8_t out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)text, strlen(text));
}

bool
secret_hash_equal(const uint8_t a[32], const uint8_t b[32])
{
	return sodium_memcmp(a, b, 32) == 0;
}

void
secret_hash_hex(const uint8_t h[32], char out[65])
{
	sodium_bin2hex(out, 65, h, 32);
}

int
secret_file_write(const char *path, const char *text, struct errbuf *eb)
{
	char	 tmp[4096];
	size_t	 len = strlen(text);
	int	 fd;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return err_setf(eb, ERR_INVAL, "%s: path too long", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return err_setf(eb, ERR_IO, "%s: %s", tmp, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		err_setf(eb, ERR_IO, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return ERR_IO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		err_setf(eb, ERR_IO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return ERR_IO;
	}
	return 0;
}

int
secret_file_read(const char *path, char out[SECRET_TEXT_MAX], struct errbuf *eb)
{
	char	 buf[SECRET_TEXT_MAX + 2];
	char	*s, *e;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return err_setf(eb, ERR_NOTFOUND, "%s: no such file", path);
		return err_setf(eb, ERR_IO, "%s: %s", path, strerror(errno));
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return err_setf(eb, ERR_IO, "%s: %s", path, strerror(errno));
	buf[n] = '\0';
	s = buf;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strcspn(s, "\r\n");
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	if (*s == '\0')
		return err_setf(eb, ERR_INVAL, "%s: empty", path);
	if ((size_t)(e - s) >= SECRET_TEXT_MAX)
		return err_setf(eb, ERR_INVAL, "%s: secret too long", path);
	memcpy(out, s, (size_t)(e - s) + 1);
	return 0;
}
