/* This file contains the client of docker credential helpers: the
 * program docker-credential-NAME spawned with "get", the server written
 * to it, its JSON answer read and checked. */
#include "format/credhelper_i.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/json_i.h"
#include "util/err_i.h"
#include "util/guard_i.h"

extern char **environ;

/* The helper's name becomes a program name looked up on PATH: no slash,
 * nothing a shell or a path could read otherwise. */
static int name_ok(const char *name)
{
	if (!name[0] || strlen(name) > IMGFS_CREDHELPER_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("._-", *p)))
			return 0;
	return 1;
}

/* The first line of TEXT (a helper's error answer) into a message. */
static const char *first_line(char *text)
{
	char *nl;

	if (!text || !text[0])
		return NULL;
	nl = strpbrk(text, "\r\n");
	if (nl)
		*nl = '\0';
	return text[0] ? text : NULL;
}

/* Spawns PROG get, writes SERVER to it, reads its answer into *BODY
 * (malloc'd, NUL-terminated) and its wait status into *STATUS. */
static int run(const char *ref, const char *prog, const char *server, char **body, int *status,
	       struct imgfs_err *err)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)prog, (char *)"get", NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, rc = 0, e;
	size_t len = 0;
	pid_t pid = -1;
	char buf[4096];
	ssize_t n;

	/* a socket, not a pipe, for its standard input: send() with
	 * MSG_NOSIGNAL cannot kill us with SIGPIPE when the helper exits
	 * without reading */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
	    pipe2(out, O_CLOEXEC) != 0) {
		rc = imgfs_errf(err, -errno, 0, "%s: %s: %s", ref, prog, strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[1]);
	close(out[1]);
	in[1] = out[1] = -1;
	if (e != 0) {
		pid = -1;
		rc = imgfs_errf(err, -e, 1, "%s: credential helper %s: %s%s", ref, prog, strerror(e),
				e == ENOENT ? " (not on PATH; named by credsStore or credHelpers in ~/.docker/config.json)" : "");
		goto out;
	}
	/* docker's helpers take the server without a newline; a newline
	 * is what they strip, so either is fine */
	if (send(in[0], server, strlen(server), MSG_NOSIGNAL) < 0 && errno != EPIPE) {
		rc = imgfs_errf(err, -errno, 0, "%s: credential helper %s: %s", ref, prog, strerror(errno));
		goto out;
	}
	close(in[0]);
	in[0] = -1;
	while ((n = read(out[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = imgfs_errf(err, -errno, 0, "%s: credential helper %s: %s", ref, prog,
					strerror(errno));
			goto out;
		}
		e = imgfs_body_append(body, &len, IMGFS_CREDHELPER_OUT_MAX, buf, (size_t)n);
		if (e) {
			rc = imgfs_errf(err, e, e == -EFBIG, "%s: credential helper %s: %s", ref, prog,
					e == -EFBIG ? "answer too large" : strerror(-e));
			goto out;
		}
	}
out:
	if (in[0] >= 0)
		close(in[0]);
	if (out[0] >= 0)
		close(out[0]);
	if (pid > 0) {
		if (rc)
			kill(pid, SIGTERM);
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	}
	return rc;
}

int imgfs_credhelper_get(const char *ref, const char *name, const char *server, char *out,
			 size_t len, struct imgfs_err *err)
{
	char prog[IMGFS_CREDHELPER_NAME_MAX + 32], *body = NULL, *user = NULL, *secret = NULL;
	int status = 0, rc;

	out[0] = '\0';
	if (!name_ok(name))
		return imgfs_errf(err, -EINVAL, 1, "%s: credential helper \"%.*s\": not a helper name",
				  ref, IMGFS_CREDHELPER_NAME_MAX, name);
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	rc = run(ref, prog, server, &body, &status, err);
	if (rc)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the helpers' own words (docker-credential-helpers'
		 * credentials.ErrCredentialsNotFound): no entry, not a failure */
		if (body && strstr(body, "credentials not found"))
			goto out;
		if (WIFEXITED(status)) {
			const char *line = first_line(body);

			rc = imgfs_errf(err, -EACCES, 1, "%s: credential helper %s failed (exit %d)%s%s", ref,
					prog, WEXITSTATUS(status), line ? ": " : "", line ? line : "");
		} else {
			rc = imgfs_errf(err, -EACCES, 1, "%s: credential helper %s killed by signal %d", ref,
					prog, WTERMSIG(status));
		}
		goto out;
	}
	if (imgfs_json_text(body, "$.Username", &user) < 0 ||
	    imgfs_json_text(body, "$.Secret", &secret) < 0) {
		rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	if (!user || !secret || !secret[0]) {
		rc = imgfs_errf(err, -EPROTO, 1, "%s: credential helper %s gave no Username and Secret",
				ref, prog);
		goto out;
	}
	/* "<token>" means an identity token for an OAuth2 refresh grant, a
	 * flow imgfs does not speak; a colon would split USER:PASS wrongly */
	if (!strcmp(user, "<token>") || strchr(user, ':') || strpbrk(user, "\r\n") ||
	    strpbrk(secret, "\r\n")) {
		rc = imgfs_errf(err, -EPROTO, 1, "%s: credential helper %s gave %s", ref, prog,
				strcmp(user, "<token>") ? "a user name imgfs cannot send"
							: "an identity token (imgfs takes a user name and password)");
		goto out;
	}
	if ((size_t)snprintf(out, len, "%s:%s", user, secret) >= len) {
		out[0] = '\0';
		rc = imgfs_errf(err, -EPROTO, 1, "%s: credential helper %s: credentials too long", ref, prog);
		goto out;
	}
	rc = 1;
out:
	free(user);
	free(secret);
	free(body);
	return rc;
}
