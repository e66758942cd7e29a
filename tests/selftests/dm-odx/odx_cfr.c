// SPDX-License-Identifier: GPL-2.0
/*
 * odx_cfr: copy_file_range(2) between two files or block devices, as
 * copy.sh, crash.sh and the benchmark use it.
 *
 *   odx_cfr SRC SRC_OFFSET DST DST_OFFSET LENGTH
 *
 * Calls copy_file_range() until LENGTH bytes are copied or it returns 0
 * (end of the source). Numbers are bytes (decimal or 0x...). Prints
 * "ok copied N calls C" and exits 0, or prints the errno's name (EINVAL,
 * EXDEV, ...) and the bytes copied before it and exits 1; exits 2 on bad
 * usage or when a file cannot be opened. SRC and DST may name the same
 * device: it is opened twice, as two processes would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EXDEV: return "EXDEV";
	case EBADF: return "EBADF";
	case ENOSPC: return "ENOSPC";
	case EPERM: return "EPERM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EIO: return "EIO";
	case EFBIG: return "EFBIG";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOSYS: return "ENOSYS";
	case EROFS: return "EROFS";
	case EINTR: return "EINTR";
	default: return strerror(e);
	}
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "odx_cfr: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		fprintf(stderr, "odx_cfr: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

int main(int argc, char **argv)
{
	uint64_t len, done = 0, calls = 0;
	loff_t in, out;
	ssize_t n;
	int fin, fout;

	if (argc != 6) {
		fprintf(stderr, "usage: odx_cfr SRC SRC_OFFSET DST DST_OFFSET LENGTH\n");
		return 2;
	}
	in = num(argv[2]);
	out = num(argv[4]);
	len = num(argv[5]);
	fin = open_or_die(argv[1], O_RDONLY);
	fout = open_or_die(argv[3], O_WRONLY);

	while (done < len) {
		n = copy_file_range(fin, &in, fout, &out, len - done, 0);
		calls++;
		if (n < 0) {
			printf("%s copied %" PRIu64 " calls %" PRIu64 "\n",
			       errname(errno), done, calls);
			return 1;
		}
		if (n == 0)
			break;
		done += n;
	}
	printf("ok copied %" PRIu64 " calls %" PRIu64 "\n", done, calls);
	return 0;
}
