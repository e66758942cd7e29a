// SPDX-License-Identifier: GPL-2.0
/*
 * odx_token: the offload requests of /dev/odx-control (5-9), one call a
 * run, for tokens.sh. Tokens travel in files of 512 bytes.
 *
 *   odx_token zero FILE                    write the zero token to FILE
 *   odx_token read DEV FILE TYPE LIFETIME OFFSET:LENGTH...
 *                                          offload read; TYPE pit, cv, or
 *                                          a number; prints
 *                                          "bytes N lifetime S"
 *   odx_token write DEV FILE OFFSET LENGTH TRANSFER_OFFSET [immediate]
 *                                          offload write; prints
 *                                          "written N result R"
 *                                          (with immediate: "... id N")
 *   odx_token status DEV ID [stale]        prints "status 0xSS count N units U
 *                                          error E sense KK/AA/QQ"; with
 *                                          stale, every output field is
 *                                          0x55 bytes on the way in
 *   odx_token abort DEV ID
 *   odx_token release DEV FILE [FLAGS [RESERVED]]
 *                                          token release, with those
 *                                          input fields (default 0)
 *
 * Numbers are bytes (decimal or 0x...). Each command prints, first,
 * "ok" or the errno's name (EKEYREJECTED, ...) and exits 0 on success,
 * 1 when the request failed, 2 on bad usage or setup failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/dm-odx.h>

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "odx_token: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: see the top of odx_token.c\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		die(path);
	return fd;
}

static int result(int r)
{
	if (r) {
		const char *name = strerrorname_np(errno);

		printf("%s", name ? name : "E?");
		return 1;
	}
	printf("ok");
	return 0;
}

static void token_load(const char *path, struct odx_token *tok)
{
	int fd = open_or_die(path, O_RDONLY);

	memset(tok, 0, sizeof(*tok));
	/* a short file is a truncated token: the rest stays zero */
	if (read(fd, tok, sizeof(*tok)) < 0)
		die(path);
	close(fd);
}

static void token_save(const char *path, const struct odx_token *tok)
{
	int fd = open_or_die(path, O_WRONLY | O_CREAT | O_TRUNC);

	if (write(fd, tok, sizeof(*tok)) != sizeof(*tok))
		die(path);
	close(fd);
}

int main(int argc, char **argv)
{
	int ctl, dev, r, rc;

	if (argc == 3 && !strcmp(argv[1], "zero")) {
		struct odx_token tok;

		memset(&tok, 0, sizeof(tok));
		tok.type = htonl(ODX_TOKEN_ZERO);
		tok.length = htons(ODX_TOKEN_LENGTH);
		token_save(argv[2], &tok);
		printf("ok\n");
		return 0;
	}
	if (argc < 4)
		usage();
	ctl = open_or_die(ODX_CONTROL_PATH, O_RDWR);

	if (!strcmp(argv[1], "read") && argc >= 7) {
		struct odx_range ranges[ODX_OFFLOAD_MAX_RANGES + 1];
		struct odx_offload_read q = { .size = sizeof(q) };
		int i, n = argc - 6;

		if (n > (int)ODX_OFFLOAD_MAX_RANGES + 1)
			usage();
		for (i = 0; i < n; i++) {
			char *colon = strchr(argv[6 + i], ':');

			if (!colon)
				usage();
			*colon = 0;
			ranges[i].offset = num(argv[6 + i]);
			ranges[i].length = num(colon + 1);
		}
		dev = open_or_die(argv[2], O_RDONLY);
		q.fd = dev;
		q.ranges = (uintptr_t)ranges;
		q.count = n;
		if (!strcmp(argv[4], "pit"))
			q.token_type = ODX_TOKEN_PIT;
		else if (!strcmp(argv[4], "cv"))
			q.token_type = ODX_TOKEN_CHANGE_VULNERABLE;
		else
			q.token_type = num(argv[4]);
		q.lifetime = num(argv[5]);
		r = ioctl(ctl, ODX_IOC_OFFLOAD_READ, &q);
		rc = result(r);
		if (!r) {
			token_save(argv[3], &q.token);
			printf(" bytes %" PRIu64 " lifetime %u", (uint64_t)q.bytes,
			       q.lifetime);
		}
		printf("\n");
		return rc;
	}
	if (!strcmp(argv[1], "write") && (argc == 7 || argc == 8)) {
		struct odx_offload_write q = { .size = sizeof(q) };

		dev = open_or_die(argv[2], O_RDWR);
		q.fd = dev;
		token_load(argv[3], &q.token);
		q.offset = num(argv[4]);
		q.length = num(argv[5]);
		q.transfer_offset = num(argv[6]);
		if (argc == 8) {
			if (strcmp(argv[7], "immediate"))
				usage();
			q.flags = ODX_WRITE_IMMEDIATE;
		}
		rc = result(ioctl(ctl, ODX_IOC_OFFLOAD_WRITE, &q));
		printf(" written %" PRIu64 " result %u", (uint64_t)q.written,
		       q.result);
		if (q.result & ODX_WRITE_IN_PROGRESS)
			printf(" id %" PRIu64, (uint64_t)q.operation_id);
		printf("\n");
		return rc;
	}
	if (!strcmp(argv[1], "status") && (argc == 4 ||
	    (argc == 5 && !strcmp(argv[4], "stale")))) {
		struct odx_operation_status q = { .size = sizeof(q) };

		if (argc == 5) {
			/* a reused struct: stale outputs the kernel must set */
			memset(&q, 0x55, sizeof(q));
			q.size = sizeof(q);
			q.reserved1 = 0;
			q.flags = 0;
			q.reserved2 = 0;
		}
		dev = open_or_die(argv[2], O_RDONLY);
		q.fd = dev;
		q.operation_id = num(argv[3]);
		rc = result(ioctl(ctl, ODX_IOC_OPERATION_STATUS, &q));
		if (!rc)
			printf(" status 0x%02x count %" PRIu64 " units %u error %d sense %02x/%02x/%02x",
			       q.operation_status, (uint64_t)q.transfer_count,
			       q.transfer_count_units, q.error, q.sense_key,
			       q.asc, q.ascq);
		printf("\n");
		return rc;
	}
	if (!strcmp(argv[1], "abort") && argc == 4) {
		struct odx_operation_abort q = { .size = sizeof(q) };

		dev = open_or_die(argv[2], O_RDWR);
		q.fd = dev;
		q.operation_id = num(argv[3]);
		rc = result(ioctl(ctl, ODX_IOC_OPERATION_ABORT, &q));
		printf("\n");
		return rc;
	}
	if (!strcmp(argv[1], "release") && argc >= 4 && argc <= 6) {
		struct odx_token_release q = { .size = sizeof(q) };

		dev = open_or_die(argv[2], O_RDONLY);
		q.fd = dev;
		token_load(argv[3], &q.token);
		if (argc >= 5)
			q.flags = num(argv[4]);
		if (argc == 6)
			q.reserved = num(argv[5]);
		rc = result(ioctl(ctl, ODX_IOC_TOKEN_RELEASE, &q));
		printf("\n");
		return rc;
	}
	usage();
}
