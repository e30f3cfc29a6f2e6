/* This file contains the Docker Engine client: the socket a reference
 * names ($DOCKER_HOST, podman's rootless and rootful sockets), GET
 * /images/{name}/json for the image ID and GET /images/{name}/get for the
 * image as a docker-archive tar, with libcurl over the unix socket. */
#include "format/daemon_i.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/json_i.h"
#include "format/ref_i.h"
#include "util/err_i.h"
#include "util/guard_i.h"

/* How often the spool's free space is checked while the tar streams in. */
#define SPACE_CHECK_EVERY (1u << 20)

static const char docker_prefix[] = "docker-daemon:";
static const char podman_prefix[] = "podman:";

int imgfs_daemon_is_ref(const char *image)
{
	return !strncmp(image, docker_prefix, sizeof(docker_prefix) - 1) ||
	       !strncmp(image, podman_prefix, sizeof(podman_prefix) - 1);
}

/* A parsed reference: the engine's name, its socket, the image name. */
struct dref {
	const char *ref;     /* as given, for messages */
	const char *engine;  /* "Docker Engine" or "podman service" */
	char name[IMGFS_DAEMON_NAME_MAX + 8]; /* with ":latest" when REF has no tag */
	char sock[PATH_MAX];
};

/* The path of a unix:// HOST (DOCKER_HOST, CONTAINER_HOST) into D. */
static int unix_host(struct dref *d, const char *var, const char *host, struct imgfs_err *err)
{
	if (strncmp(host, "unix://", 7) || !host[7])
		return imgfs_errf(err, -EINVAL, 1, "%s: %s=%s: imgfs talks to the %s over a unix:// socket only",
				  d->ref, var, host, d->engine);
	if (strlen(host + 7) >= sizeof(d->sock))
		return imgfs_errf(err, -ENAMETOOLONG, 1, "%s: %s: path too long", d->ref, var);
	strcpy(d->sock, host + 7);
	return 0;
}

static int parse_ref(const char *ref, struct dref *d, struct imgfs_err *err)
{
	const char *env, *p;
	int podman = !strncmp(ref, podman_prefix, sizeof(podman_prefix) - 1);

	memset(d, 0, sizeof(*d));
	d->ref = ref;
	d->engine = podman ? "podman service" : "Docker Engine";
	p = ref + (podman ? sizeof(podman_prefix) : sizeof(docker_prefix)) - 1;
	if (!p[0] || strlen(p) > IMGFS_DAEMON_NAME_MAX)
		return imgfs_errf(err, -EINVAL, 1, "%s: no image name (%sNAME[:TAG])", ref,
				  podman ? podman_prefix : docker_prefix);
	strcpy(d->name, p);
	/* the name goes into a URL path as it is: only the characters of
	 * docker references, nothing that would need escaping or climb */
	for (p = d->name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("._-/:@", *p)))
			return imgfs_errf(err, -EINVAL, 1, "%s: not an image name", ref);
	if (strstr(d->name, "..") || d->name[0] == '/' || d->name[0] == '.')
		return imgfs_errf(err, -EINVAL, 1, "%s: not an image name", ref);
	/* NAME means NAME:latest, as for docker pull and containers-transports(5):
	 * the Engine would save every tag of a bare repository name */
	p = strrchr(d->name, '/');
	if (!strchr(p ? p : d->name, ':') && !strchr(d->name, '@'))
		strcat(d->name, ":latest");
	if (!podman) {
		env = getenv("DOCKER_HOST");
		if (env && env[0])
			return unix_host(d, "DOCKER_HOST", env, err);
		strcpy(d->sock, "/var/run/docker.sock");
		return 0;
	}
	env = getenv("CONTAINER_HOST");
	if (env && env[0])
		return unix_host(d, "CONTAINER_HOST", env, err);
	/* rootless podman's socket first (`systemctl --user start
	 * podman.socket`), then the rootful one */
	env = getenv("XDG_RUNTIME_DIR");
	if (env && env[0] == '/' &&
	    (size_t)snprintf(d->sock, sizeof(d->sock), "%s/podman/podman.sock", env) < sizeof(d->sock) &&
	    access(d->sock, F_OK) == 0)
		return 0;
	strcpy(d->sock, "/run/podman/podman.sock");
	return 0;
}

/* Where the answer's body goes: to FD when the status is 200 and FD is
 * set, else into BODY (an error's JSON message, or the inspect answer). */
struct sink {
	CURL *c;
	int fd;
	const char *path;  /* of FD */
	char *body;
	size_t len;
	uint64_t written, checked;
	int failed;        /* errno of a failed write */
	struct imgfs_err *err;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200 && s->fd >= 0) {
		size_t done = 0;

		if (s->written - s->checked >= SPACE_CHECK_EVERY || s->written == 0) {
			if (imgfs_space_check(s->path, SPACE_CHECK_EVERY, s->err)) {
				s->failed = ENOSPC;
				return 0;
			}
			s->checked = s->written;
		}
		while (done < len) {
			ssize_t w = write(s->fd, p + done, len - done);

			if (w < 0) {
				s->failed = errno;
				return 0;
			}
			done += (size_t)w;
		}
		s->written += len;
		return len;
	}
	{
		int r = imgfs_body_append(&s->body, &s->len, IMGFS_DAEMON_BODY_MAX, p, len);

		if (r) {
			s->failed = -r;
			return 0;
		}
	}
	return len;
}

/* GET PATH (after /images/NAME) into FD (or memory: *BODY, caller frees).
 * Returns 0 or a negative errno with ERR set. */
static int get(const struct dref *d, const char *what, int fd, const char *fd_path, char **body,
	       struct imgfs_err *err)
{
	char url[IMGFS_DAEMON_NAME_MAX + 64], cerr[CURL_ERROR_SIZE] = "", *msg = NULL;
	struct sink s = { .fd = fd, .path = fd_path, .err = err };
	CURLcode cc;
	long code = 0;
	int rc = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return imgfs_errf(err, -ENOMEM, 0, "libcurl: cannot initialise");
	s.c = curl_easy_init();
	if (!s.c) {
		curl_global_cleanup();
		return imgfs_errf(err, -ENOMEM, 0, "out of memory");
	}
	/* the host part means nothing over a unix socket */
	snprintf(url, sizeof(url), "http://localhost/images/%s/%s", d->name, what);
	curl_easy_setopt(s.c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(s.c, CURLOPT_URL, url);
	curl_easy_setopt(s.c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s.c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(s.c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s.c, CURLOPT_CONNECTTIMEOUT, 10L);
	cc = curl_easy_perform(s.c);
	curl_easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &code);
	if (s.failed == ENOSPC) {
		rc = -ENOSPC; /* ERR set by imgfs_space_check */
	} else if (s.failed) {
		rc = imgfs_errf(err, -s.failed, 0, "%s: %s: %s", d->ref, fd_path ? fd_path : "reading the answer",
				strerror(s.failed));
	} else if (cc != CURLE_OK && code == 0) {
		/* libcurl's own text names localhost port 80: say what is
		 * wrong with the socket instead */
		rc = imgfs_errf(err, -ECONNREFUSED, 1, "%s: cannot reach the %s at %s: %s (is it running?)",
				d->ref, d->engine, d->sock,
				access(d->sock, F_OK) != 0 ? "no such socket" : curl_easy_strerror(cc));
	} else if (code != 200 && imgfs_json_text(s.body, "$.message", &msg) < 0) {
		rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
	} else if (code == 404) {
		rc = imgfs_errf(err, -ENOENT, 1, "%s: no such image in the %s at %s%s%s%s", d->ref,
				d->engine, d->sock, msg && *msg ? " (" : "", msg ? msg : "", msg && *msg ? ")" : "");
	} else if (code != 200) {
		rc = imgfs_errf(err, -EIO, 1, "%s: the %s at %s answered %ld%s%s", d->ref, d->engine,
				d->sock, code, msg && *msg ? ": " : "", msg ? msg : "");
	} else if (cc != CURLE_OK) {
		rc = imgfs_errf(err, -EIO, 1, "%s: the %s at %s stopped sending: %s", d->ref, d->engine,
				d->sock, cerr[0] ? cerr : curl_easy_strerror(cc));
	}
	free(msg);
	curl_easy_cleanup(s.c);
	curl_global_cleanup();
	if (rc == 0 && body) {
		*body = s.body;
		s.body = NULL;
	}
	free(s.body);
	return rc;
}

int imgfs_daemon_image_id(const char *ref, char *id, size_t id_len, char *sock, size_t sock_len,
			  struct imgfs_err *err)
{
	struct dref d;
	char *body = NULL, *got = NULL;
	int rc = parse_ref(ref, &d, err);

	if (rc)
		return rc;
	snprintf(sock, sock_len, "%s", d.sock);
	rc = get(&d, "json", -1, NULL, &body, err);
	if (rc)
		return rc;
	if (imgfs_json_text(body, "$.Id", &got) < 0)
		rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
	else if (!got || !imgfs_digest_ok(got) || strlen(got) >= id_len)
		rc = imgfs_errf(err, -EPROTO, 1, "%s: the %s at %s gave no image ID", ref, d.engine,
				d.sock);
	else
		strcpy(id, got);
	free(got);
	free(body);
	return rc;
}

int imgfs_daemon_save(const char *ref, const char *spool, struct imgfs_err *err)
{
	struct dref d;
	int fd, rc = parse_ref(ref, &d, err);

	if (rc)
		return rc;
	fd = open(spool, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return imgfs_errf(err, -errno, 0, "%s: %s", spool, strerror(errno));
	rc = get(&d, "get", fd, spool, NULL, err);
	if (close(fd) != 0 && rc == 0)
		rc = imgfs_errf(err, -errno, 0, "%s: %s", spool, strerror(errno));
	return rc;
}
