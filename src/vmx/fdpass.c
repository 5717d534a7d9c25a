/*
 * fdpass.c — see fdpass.h.
 */
#include "fdpass.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		int nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} u;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds < 0 || nfds > FDPASS_MAX)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	if (nfds > 0) {
		struct cmsghdr *c;
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void fdpass_take(struct msghdr *mh, int *fds, int max_fds, int *nfds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c;
	     c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && *nfds < max_fds)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
}

int fdpass_recv(int sock, void *buf, size_t len, int *fds, int max_fds,
		int *nfds, int timeout_ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	int got = 0;
	ssize_t n;

	if (timeout_ms >= 0) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int r;
		do
			r = poll(&p, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -ETIMEDOUT;
	}
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	fdpass_take(&mh, fds, max_fds, &got);
	if (nfds)
		*nfds = got;
	if (n == 0 || (size_t)n != len || (mh.msg_flags & MSG_TRUNC)) {
		for (int i = 0; i < got && fds; i++)
			close(fds[i]);
		if (nfds)
			*nfds = 0;
		return n == 0 ? -ECONNRESET : -EPROTO;
	}
	return 0;
}
