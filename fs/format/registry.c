/* This file contains the registry client: docker:// references as skopeo
 * reads them, the /v2/ ping and its auth challenge (anonymous or --creds
 * bearer tokens, basic auth), manifests and indexes (the platform chosen
 * as for an archive), and the blobs, each checked against its digest while
 * it streams into an oci-archive tar: the spool the build then reads. */
#include "format/registry_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <nettle/base64.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format/credhelper_i.h"
#include "format/json_i.h"
#include "format/platform_i.h"
#include "format/ref_i.h"
#include "util/digest_i.h"
#include "util/err_i.h"
#include "util/guard_i.h"

static const char prefix[] = "docker://";

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
/* Sanity limit: an auth file read whole (a few hundred bytes a login). */
#define AUTH_FILE_MAX (1u << 20)
/* how often the spool's free space is checked while blobs stream in */
#define SPACE_CHECK_EVERY (1u << 20)

int imgfs_registry_is_ref(const char *image)
{
	return !strncmp(image, prefix, sizeof(prefix) - 1);
}

struct reg {
	const char *ref;          /* as given, for messages */
	char host[256];           /* where the API is: "127.0.0.1:5000", "registry-1.docker.io" */
	char repo[512];
	char reference[256];      /* tag or digest */
	const char *scheme;       /* "https", or "http" with --tls-verify=false */
	int insecure;
	const char *creds;        /* USER:PASS or NULL */
	char named[256];          /* the host as the reference names it: the key of auth files */
	char file_creds[1024];    /* what an auth file gave */
	const struct imgfs_opts *o; /* its progress callback */
	uint64_t total, done;     /* bytes of the blobs, for the progress line */
	struct timespec last;     /* of the last progress call */
	int basic;                /* the registry asked for basic auth */
	char *auth;               /* "Authorization: Bearer ..." or NULL */
	struct imgfs_err *err;
};

static int valid(const char *s, const char *extra)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return 0;
	return 1;
}

/* docker://[HOST[:PORT]/]REPO[:TAG|@DIGEST]: a first component with '.'
 * or ':', or "localhost", is the host; else Docker Hub, where a name of
 * one component is under library/ (as docker pull and skopeo read it). */
static int parse_ref(const char *ref, struct reg *r, struct imgfs_err *err)
{
	char name[IMGFS_REGISTRY_REF_MAX];
	const char *rest = ref + sizeof(prefix) - 1;
	char *at, *slash, *colon, *first_end;

	memset(r, 0, sizeof(*r));
	r->ref = ref;
	r->err = err;
	if (strlen(rest) >= sizeof(name) || !rest[0])
		return imgfs_errf(err, -EINVAL, 1, "%s: not an image reference", ref);
	strcpy(name, rest);
	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!imgfs_digest_ok(at + 1))
			return imgfs_errf(err, -EINVAL, 1, "%s: not a digest: %s", ref, at + 1);
		snprintf(r->reference, sizeof(r->reference), "%s", at + 1);
	} else {
		slash = strrchr(name, '/');
		colon = strrchr(slash ? slash : name, ':');
		if (colon) {
			*colon = '\0';
			snprintf(r->reference, sizeof(r->reference), "%s", colon + 1);
		} else {
			strcpy(r->reference, "latest");
		}
		if (strlen(r->reference) > 128 ||
		    !valid(r->reference, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") || r->reference[0] == '.' ||
		    r->reference[0] == '-')
			return imgfs_errf(err, -EINVAL, 1, "%s: not a tag: %s", ref, r->reference);
	}
	first_end = strchr(name, '/');
	if (first_end && (memchr(name, '.', (size_t)(first_end - name)) ||
			  memchr(name, ':', (size_t)(first_end - name)) ||
			  (first_end - name == 9 && !strncmp(name, "localhost", 9)))) {
		*first_end = '\0';
		snprintf(r->host, sizeof(r->host), "%s", name);
		snprintf(r->repo, sizeof(r->repo), "%s", first_end + 1);
	} else {
		strcpy(r->host, "docker.io");
		snprintf(r->repo, sizeof(r->repo), "%s%s", first_end ? "" : "library/", name);
	}
	snprintf(r->named, sizeof(r->named), "%s", r->host);
	if (!strcmp(r->host, "docker.io") || !strcmp(r->host, "index.docker.io"))
		strcpy(r->host, "registry-1.docker.io");
	if (!valid(r->repo, "._-/") || strstr(r->repo, "..") || strstr(r->repo, "//") ||
	    r->repo[0] == '/' || r->repo[strlen(r->repo) - 1] == '/')
		return imgfs_errf(err, -EINVAL, 1, "%s: not a repository name: %s", ref, r->repo);
	if (!valid(r->host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:[]"))
		return imgfs_errf(err, -EINVAL, 1, "%s: not a registry host: %s", ref, r->host);
	return 0;
}

/* One answer: its status, the headers we use, and the body in memory (up
 * to MAX) or, for a blob with status 200, into the tar being written. */
struct resp {
	CURL *c;
	long code;
	char *body;
	size_t len, max;
	char ctype[256];
	char digest[256];        /* Docker-Content-Digest */
	char www[1024];          /* WWW-Authenticate */
	struct archive *aw;      /* blob: written here, hashed into DG */
	struct imgfs_digest *dg;
	uint64_t got, want, checked;
	const char *spool;
	struct reg *reg;         /* blob: its progress */
	int failed;              /* errno of a failed write or an over-long body */
	struct imgfs_err *err;
};

static void resp_clear(struct resp *p)
{
	free(p->body);
	p->body = NULL;
	p->len = 0;
	p->code = 0;
	p->ctype[0] = p->digest[0] = p->www[0] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = size * n, k;
	static const struct {
		const char *name;
		size_t off;
	} keep[] = {
		{ "content-type:", offsetof(struct resp, ctype) },
		{ "docker-content-digest:", offsetof(struct resp, digest) },
		{ "www-authenticate:", offsetof(struct resp, www) },
	};

	/* a redirect's headers come first: keep the last answer's only */
	if (len > 5 && !strncmp(p, "HTTP/", 5))
		r->ctype[0] = r->digest[0] = r->www[0] = '\0';
	for (k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
		size_t nl = strlen(keep[k].name), vl;
		char *dst = (char *)r + keep[k].off;
		const char *v;

		if (len <= nl || strncasecmp(p, keep[k].name, nl))
			continue;
		v = p + nl;
		while (v < p + len && (*v == ' ' || *v == '\t'))
			v++;
		vl = (size_t)(p + len - v);
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		if (vl > 255 && k < 2)
			vl = 255;
		if (vl > 1023)
			vl = 1023;
		memcpy(dst, v, vl);
		dst[vl] = '\0';
	}
	return len;
}

/* The progress line (the command's: bytes downloaded of the blobs'
 * total), at most ten times a second unless FORCE. */
static void report(struct reg *r, int force)
{
	struct timespec t;

	if (!r->o || !r->o->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!force && (double)(t.tv_sec - r->last.tv_sec) + (double)(t.tv_nsec - r->last.tv_nsec) / 1e9 < 0.1)
		return;
	r->last = t;
	{
		struct imgfs_progress p = { .done = r->done, .total = r->total };

		r->o->progress(r->o->progress_ctx, &p);
	}
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(r->c, CURLINFO_RESPONSE_CODE, &code);
	if (code == 200 && r->aw) {
		if (r->got + len > r->want) {
			r->failed = EMSGSIZE; /* more than the manifest said */
			return 0;
		}
		if (r->got - r->checked >= SPACE_CHECK_EVERY || r->got == 0) {
			if (imgfs_space_check(r->spool, SPACE_CHECK_EVERY, r->err)) {
				r->failed = ENOSPC;
				return 0;
			}
			r->checked = r->got;
		}
		if (archive_write_data(r->aw, p, len) != (la_ssize_t)len) {
			r->failed = EIO;
			return 0;
		}
		imgfs_digest_update(r->dg, p, len);
		r->got += len;
		if (r->reg) {
			r->reg->done += len;
			report(r->reg, 0);
		}
		return len;
	}
	{
		int e = imgfs_body_append(&r->body, &r->len, r->max, p, len);

		if (e) {
			r->failed = -e;
			return 0;
		}
	}
	return len;
}

/* The value of PARAM="..." in a WWW-Authenticate challenge into OUT. */
static void challenge_param(const char *www, const char *param, char *out, size_t len)
{
	char pat[32];
	const char *p;
	size_t i = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "%s=\"", param);
	p = strcasestr(www, pat);
	if (!p)
		return;
	for (p += strlen(pat); *p && *p != '"' && i + 1 < len; p++)
		out[i++] = *p;
	out[i] = '\0';
}

/* A JSON text's value at PATH ("$.token") into a malloc'd string, with
 * SQLite's JSON functions (linked for the index already); NULL if none. */
static char *json_text(const char *doc, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char *out = NULL;

	if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT json_extract(?1, ?2) WHERE json_valid(?1)", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, doc, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, path, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
			out = strdup((const char *)sqlite3_column_text(q, 0));
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return out;
}

/* One request of URL (absolute) or PATH (below scheme://host). */
static CURLcode perform(struct reg *r, const char *url, int head, const char *accept,
			struct resp *out, char *cerr)
{
	struct curl_slist *h = NULL;
	CURLcode cc;

	resp_clear(out);
	out->c = curl_easy_init();
	if (!out->c)
		return CURLE_OUT_OF_MEMORY;
	if (accept) {
		char line[512];

		snprintf(line, sizeof(line), "Accept: %s", accept);
		h = curl_slist_append(h, line);
	}
	if (r->auth)
		h = curl_slist_append(h, r->auth);
	curl_easy_setopt(out->c, CURLOPT_URL, url);
	curl_easy_setopt(out->c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(out->c, CURLOPT_NOBODY, head ? 1L : 0L);
	curl_easy_setopt(out->c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(out->c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(out->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(out->c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(out->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(out->c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(out->c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(out->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(out->c, CURLOPT_CONNECTTIMEOUT, 20L);
	/* a transfer that stalls for a minute is a registry gone away */
	curl_easy_setopt(out->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(out->c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(out->c, CURLOPT_USERAGENT, "imgfs/" IMGFS_VERSION);
	if (r->insecure) {
		curl_easy_setopt(out->c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(out->c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->basic && r->creds) {
		curl_easy_setopt(out->c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(out->c, CURLOPT_USERPWD, r->creds);
	}
	cerr[0] = '\0';
	cc = curl_easy_perform(out->c);
	curl_easy_getinfo(out->c, CURLINFO_RESPONSE_CODE, &out->code);
	curl_easy_cleanup(out->c);
	out->c = NULL;
	curl_slist_free_all(h);
	return cc;
}

/* The message of a transport failure, with the flag that would help. */
static int transport_error(struct reg *r, CURLcode cc, const char *cerr)
{
	const char *why = cerr[0] ? cerr : curl_easy_strerror(cc);

	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM)
		return imgfs_errf(r->err, -EPROTO, 1, "%s: TLS with %s failed: %s (--tls-verify=false "
				  "allows a plain-HTTP or self-signed registry)", r->ref, r->host, why);
	return imgfs_errf(r->err, -ECONNREFUSED, 1, "%s: cannot reach the registry %s: %s", r->ref,
			  r->host, why);
}

/* The registry's error answer: {"errors": [{"code", "message"}]}. */
static int answer_error(struct reg *r, const struct resp *p, const char *what)
{
	char *code = p->body ? json_text(p->body, "$.errors[0].code") : NULL;
	char *msg = p->body ? json_text(p->body, "$.errors[0].message") : NULL;
	int e = p->code == 404 ? -ENOENT : p->code == 401 || p->code == 403 ? -EACCES : -EIO;

	if (p->code == 401 || p->code == 403)
		imgfs_errf(r->err, e, 1, "%s: %s: access refused by %s (HTTP %ld%s%s%s%s)%s", r->ref, what,
			   r->host, p->code, code ? ", " : "", code ? code : "", msg ? ": " : "",
			   msg ? msg : "", r->creds ? "" : ": give --creds USER:PASS");
	else
		imgfs_errf(r->err, e, 1, "%s: %s: %s answered HTTP %ld%s%s%s%s", r->ref, what, r->host,
			   p->code, code ? ", " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
	free(code);
	free(msg);
	return e;
}

/* The bearer token the challenge WWW asks for, anonymous or with --creds. */
static int get_token(struct reg *r, const char *www)
{
	char realm[512], service[256], url[1400], cerr[CURL_ERROR_SIZE];
	struct resp p = { .max = 1 << 20, .err = r->err };
	char *tok = NULL, *esc_service, *esc_scope, scope[700];
	CURL *e = curl_easy_init();
	CURLcode cc;
	int rc = 0, was_basic = r->basic;

	if (!e)
		return imgfs_errf(r->err, -ENOMEM, 0, "out of memory");
	challenge_param(www, "realm", realm, sizeof(realm));
	challenge_param(www, "service", service, sizeof(service));
	snprintf(scope, sizeof(scope), "repository:%s:pull", r->repo);
	esc_service = curl_easy_escape(e, service, 0);
	esc_scope = curl_easy_escape(e, scope, 0);
	curl_easy_cleanup(e);
	if (!realm[0] || strncmp(realm, "http", 4)) {
		rc = imgfs_errf(r->err, -EPROTO, 1, "%s: %s asks for a token without a realm", r->ref,
				r->host);
		goto out;
	}
	snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
		 esc_service ? esc_service : "", esc_scope ? esc_scope : "");
	free(r->auth);
	r->auth = NULL;
	r->basic = r->creds != NULL; /* the token server takes the credentials */
	cc = perform(r, url, 0, NULL, &p, cerr);
	r->basic = was_basic;
	if (cc != CURLE_OK && p.code == 0) {
		rc = transport_error(r, cc, cerr);
		goto out;
	}
	if (p.code != 200) {
		rc = answer_error(r, &p, "token");
		goto out;
	}
	tok = json_text(p.body, "$.token");
	if (!tok)
		tok = json_text(p.body, "$.access_token");
	if (!tok || !tok[0] || strpbrk(tok, "\r\n")) {
		rc = imgfs_errf(r->err, -EPROTO, 1, "%s: the token server %s gave no token", r->ref, realm);
		goto out;
	}
	if (asprintf(&r->auth, "Authorization: Bearer %s", tok) < 0) {
		r->auth = NULL;
		rc = imgfs_errf(r->err, -ENOMEM, 0, "out of memory");
	}
out:
	curl_free(esc_service);
	curl_free(esc_scope);
	free(tok);
	resp_clear(&p);
	return rc;
}

/* GET (or HEAD) PATH below /v2/, answering one auth challenge. */
static int request(struct reg *r, const char *path, int head, const char *accept, struct resp *p,
		   const char *what)
{
	char url[1600], cerr[CURL_ERROR_SIZE];
	int tries;

	for (tries = 0; tries < 2; tries++) {
		CURLcode cc;

		snprintf(url, sizeof(url), "%s://%s/v2/%s", r->scheme, r->host, path);
		cc = perform(r, url, head, accept, p, cerr);
		if (p->failed)
			return p->failed == ENOSPC ? -ENOSPC
			       : imgfs_errf(r->err, -p->failed, 1, "%s: %s: %s", r->ref, what,
					    p->failed == EMSGSIZE ? "more bytes than the manifest says"
								  : strerror(p->failed));
		if (cc != CURLE_OK && p->code == 0 && r->insecure && !strcmp(r->scheme, "https") &&
		    cc != CURLE_COULDNT_CONNECT && cc != CURLE_COULDNT_RESOLVE_HOST) {
			/* --tls-verify=false: a registry that speaks no TLS at
			 * all is asked again over plain HTTP, as skopeo does */
			r->scheme = "http";
			tries--;
			continue;
		}
		if (cc != CURLE_OK && p->code == 0)
			return transport_error(r, cc, cerr);
		if (p->code == 401 && tries == 0 && p->www[0]) {
			int rc;

			if (!strncasecmp(p->www, "bearer", 6)) {
				char www[1024];

				memcpy(www, p->www, sizeof(www));
				rc = get_token(r, www);
				if (rc)
					return rc;
				continue;
			}
			if (!strncasecmp(p->www, "basic", 5) && r->creds && !r->basic) {
				r->basic = 1;
				continue;
			}
		}
		if (cc != CURLE_OK)
			return imgfs_errf(r->err, -EIO, 1, "%s: %s: %s stopped sending: %s", r->ref, what,
					  r->host, cerr[0] ? cerr : curl_easy_strerror(cc));
		if (p->code != 200)
			return answer_error(r, p, what);
		return 0;
	}
	return answer_error(r, p, what);
}

/* The credential helper DOC (an auth file) names for R's host, as
 * docker does: "credHelpers" by host first, then "credsStore" for every
 * host.  Returns 1 with R->file_creds set, 0 (none, or the helper has
 * nothing for the host) or a negative errno with R->err set. */
static int creds_from_helper(struct reg *r, const char *doc)
{
	/* Docker Hub is "https://index.docker.io/v1/" to docker's helpers */
	int hub = !strcmp(r->named, "docker.io");
	const char *server = hub ? "https://index.docker.io/v1/" : r->named;
	const char *keys[] = { r->named, hub ? "index.docker.io" : NULL, hub ? server : NULL };
	char jpath[400], *name = NULL;
	int rc = 0;

	for (size_t i = 0; !name && i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!keys[i] || strchr(keys[i], '"'))
			continue;
		snprintf(jpath, sizeof(jpath), "$.credHelpers.\"%s\"", keys[i]);
		if (imgfs_json_text(doc, jpath, &name) < 0)
			return imgfs_errf(r->err, -ENOMEM, 0, "out of memory");
	}
	if (!name && imgfs_json_text(doc, "$.credsStore", &name) < 0)
		return imgfs_errf(r->err, -ENOMEM, 0, "out of memory");
	if (name && name[0])
		rc = imgfs_credhelper_get(r->ref, name, server, r->file_creds, sizeof(r->file_creds),
					  r->err);
	free(name);
	return rc;
}

/* USER:PASS for R from the auth file PATH into R->file_creds: from the
 * credential helper it names (creds_from_helper), else its "auths"
 * ({"auths": {KEY: {"auth": base64(USER:PASS)}}}, as podman, skopeo and
 * docker login write it).  1 when found, 0 when not, or a negative errno
 * with R->err set (a helper that failed).  Keys: HOST/REPO and its parents
 * (podman's namespaced entries), HOST, https://HOST, and Docker Hub's
 * legacy key. */
static int creds_from_file(struct reg *r, const char *path)
{
	char *doc = NULL, key[800], jpath[900], *b64 = NULL;
	size_t len = 0, n;
	FILE *f = fopen(path, "re");
	int found = 0, k;

	if (!f)
		return 0;
	doc = malloc(AUTH_FILE_MAX + 1);
	if (doc)
		len = fread(doc, 1, AUTH_FILE_MAX + 1, f);
	fclose(f);
	if (!doc || len > AUTH_FILE_MAX) {
		free(doc);
		return 0;
	}
	doc[len] = '\0';
	found = creds_from_helper(r, doc);
	for (k = 0; !found && k < 4; k++) {
		char *slash;

		if (k == 0) {
			/* HOST/REPO, then each parent namespace, then HOST */
			snprintf(key, sizeof(key), "%s/%s", r->named, r->repo);
			for (;;) {
				snprintf(jpath, sizeof(jpath), "$.auths.\"%s\".auth", key);
				free(b64);
				b64 = json_text(doc, jpath);
				if (b64 || !(slash = strrchr(key, '/')))
					break;
				*slash = '\0';
			}
		} else {
			if (k == 1)
				snprintf(key, sizeof(key), "https://%s", r->named);
			else if (k == 2)
				snprintf(key, sizeof(key), "http://%s", r->named);
			else if (!strcmp(r->named, "docker.io"))
				snprintf(key, sizeof(key), "https://index.docker.io/v1/");
			else
				break;
			snprintf(jpath, sizeof(jpath), "$.auths.\"%s\".auth", key);
			free(b64);
			b64 = json_text(doc, jpath);
		}
		if (b64 && b64[0]) {
			struct base64_decode_ctx ctx;
			size_t out_len = sizeof(r->file_creds) - 1;

			n = strlen(b64);
			base64_decode_init(&ctx);
			if (BASE64_DECODE_LENGTH(n) < sizeof(r->file_creds) &&
			    base64_decode_update(&ctx, &out_len, (uint8_t *)r->file_creds, n, b64) &&
			    base64_decode_final(&ctx)) {
				r->file_creds[out_len] = '\0';
				found = strchr(r->file_creds, ':') != NULL && strlen(r->file_creds) == out_len;
			}
		}
	}
	free(b64);
	free(doc);
	if (found <= 0)
		r->file_creds[0] = '\0';
	return found;
}

/* The credentials of --creds, else of the first auth file that has some:
 * $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json,
 * ~/.config/containers/auth.json, ~/.docker/config.json (skopeo's order).
 * Returns 0 (with or without credentials) or a negative errno with
 * R->err set: a credential helper that failed, as docker stops there. */
static int find_creds(struct reg *r, const char *given)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *run = getenv("XDG_RUNTIME_DIR"),
		   *home = getenv("HOME");
	char path[PATH_MAX];
	int rc = 0;

	r->creds = given;
	if (given)
		return 0;
	if (env && env[0] && (rc = creds_from_file(r, env)) != 0)
		goto found;
	if (run && run[0] == '/' &&
	    (size_t)snprintf(path, sizeof(path), "%s/containers/auth.json", run) < sizeof(path) &&
	    (rc = creds_from_file(r, path)) != 0)
		goto found;
	if (home && home[0] == '/' &&
	    (size_t)snprintf(path, sizeof(path), "%s/.config/containers/auth.json", home) < sizeof(path) &&
	    (rc = creds_from_file(r, path)) != 0)
		goto found;
	if (home && home[0] == '/' &&
	    (size_t)snprintf(path, sizeof(path), "%s/.docker/config.json", home) < sizeof(path) &&
	    (rc = creds_from_file(r, path)) != 0)
		goto found;
	return 0;
found:
	if (rc < 0)
		return rc;
	r->creds = r->file_creds;
	return 0;
}

/* Sets up R for O->image: the reference, the scheme, the options. */
static int open_reg(const struct imgfs_opts *o, struct reg *r, struct imgfs_err *err)
{
	int rc = parse_ref(o->image, r, err);

	if (rc)
		return rc;
	r->insecure = o->tls_verify < 0;
	r->scheme = "https";
	rc = find_creds(r, o->creds);
	if (rc)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return imgfs_errf(err, -ENOMEM, 0, "libcurl: cannot initialise");
	return 0;
}

static void close_reg(struct reg *r)
{
	free(r->auth);
	r->auth = NULL;
	curl_global_cleanup();
}

static const char accept_all[] = MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST;

int imgfs_registry_digest(const struct imgfs_opts *o, char *digest, size_t len,
			  struct imgfs_err *err)
{
	struct reg r;
	struct resp p = { .max = IMGFS_REGISTRY_MANIFEST_MAX, .err = err };
	char path[900];
	int rc = open_reg(o, &r, err);

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/manifests/%s", r.repo, r.reference);
	rc = request(&r, path, 1, accept_all, &p, "manifest");
	if (rc == -ENOENT || rc == -EACCES || rc == -EIO) {
		/* a HEAD's answer has no body: GET for the registry's error
		 * code, whose message replaces the first */
		err->msg[0] = '\0';
		rc = request(&r, path, 0, accept_all, &p, "manifest");
	}
	if (rc == 0 && !imgfs_digest_ok(p.digest)) {
		/* no Docker-Content-Digest: the manifest's own bytes */
		struct imgfs_digest d;

		rc = request(&r, path, 0, accept_all, &p, "manifest");
		if (rc == 0 && imgfs_digest_begin(&d, "sha256:0000000000000000000000000000000000000000000000000000000000000000") == 0) {
			imgfs_digest_update(&d, p.body ? p.body : "", p.len);
			imgfs_digest_end(&d, p.digest, sizeof(p.digest));
		}
	}
	if (rc == 0)
		snprintf(digest, len, "%s", p.digest);
	resp_clear(&p);
	close_reg(&r);
	return rc;
}

/* ---- writing the oci-archive ---- */

static int tar_member(struct reg *r, struct archive *aw, const char *name, uint64_t size)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	if (!e)
		return imgfs_errf(r->err, -ENOMEM, 0, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	ok = archive_write_header(aw, e) == ARCHIVE_OK;
	archive_entry_free(e);
	return ok ? 0 : imgfs_errf(r->err, -EIO, 0, "%s: %s", name, archive_error_string(aw));
}

static int tar_bytes(struct reg *r, struct archive *aw, const char *name, const char *p, size_t n)
{
	int rc = tar_member(r, aw, name, n);

	if (rc == 0 && n && archive_write_data(aw, p, n) != (la_ssize_t)n)
		rc = imgfs_errf(r->err, -EIO, 0, "%s: %s", name, archive_error_string(aw));
	return rc;
}

/* Checks that BODY hashes to DIGEST. */
static int check_bytes(struct reg *r, const char *body, size_t len, const char *digest,
		       const char *what)
{
	struct imgfs_digest d;
	char got[IMGFS_DIGEST_TEXT_MAX];

	if (imgfs_digest_begin(&d, digest) != 0)
		return imgfs_errf(r->err, -EINVAL, 1, "%s: %s: unsupported digest %s", r->ref, what, digest);
	imgfs_digest_update(&d, body, len);
	if (!imgfs_digest_end(&d, got, sizeof(got)))
		return imgfs_errf(r->err, -EBADMSG, 1, "%s: %s %s does not match its digest (got %s)",
				  r->ref, what, digest, got);
	return 0;
}

/* Streams blob DIGEST of SIZE bytes into the tar, checking its digest. */
static int tar_blob(struct reg *r, struct archive *aw, const char *spool, const char *digest,
		    uint64_t size, const char *what)
{
	char path[900], *member = imgfs_blob_path(digest), got[IMGFS_DIGEST_TEXT_MAX];
	struct imgfs_digest d;
	struct resp p = { .max = 1 << 16, .err = r->err, .aw = aw, .dg = &d, .want = size,
			  .spool = spool, .reg = r };
	int rc;

	if (!member)
		return imgfs_errf(r->err, -ENOMEM, 0, "out of memory");
	if (imgfs_digest_begin(&d, digest) != 0) {
		free(member);
		return imgfs_errf(r->err, -EINVAL, 1, "%s: %s: unsupported digest %s", r->ref, what, digest);
	}
	rc = tar_member(r, aw, member, size);
	snprintf(path, sizeof(path), "%s/blobs/%s", r->repo, digest);
	if (rc == 0)
		rc = request(r, path, 0, NULL, &p, what);
	if (rc == 0 && p.got != size)
		rc = imgfs_errf(r->err, -EIO, 1, "%s: %s %s: %llu bytes of %llu", r->ref, what, digest,
				(unsigned long long)p.got, (unsigned long long)size);
	if (rc == 0 && !imgfs_digest_end(&d, got, sizeof(got)))
		rc = imgfs_errf(r->err, -EBADMSG, 1, "%s: %s %s does not match its digest (got %s)",
				r->ref, what, digest, got);
	resp_clear(&p);
	free(member);
	return rc;
}

/* The manifest of index INDEX for PLATFORM (or the host's): its digest
 * and media type into DIGEST, MT. */
static int choose(struct reg *r, const char *index, const char *platform, char *digest,
		  size_t dlen, char *mt, size_t mlen)
{
	struct imgfs_platform want = { 0 };
	char host[64];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc = -ENOENT, n = 0;

	if (!platform) {
		imgfs_host_platform(host, sizeof(host));
		platform = host;
	}
	if (imgfs_platform_parse(platform, &want) != 0)
		return imgfs_errf(r->err, -EINVAL, 1, "%s: --platform %s: not os/arch[/variant]", r->ref,
				  platform);
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT json_extract(value, '$.digest'), json_extract(value, '$.mediaType'),"
			       " json_extract(value, '$.platform.os'), json_extract(value, '$.platform.architecture'),"
			       " json_extract(value, '$.platform.variant')"
			       " FROM json_each(?1, '$.manifests') WHERE json_valid(?1)", -1, &q, NULL) != SQLITE_OK) {
		rc = imgfs_errf(r->err, -EIO, 0, "sqlite: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(q, 1, index, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		struct imgfs_platform have = {
			.os = (char *)sqlite3_column_text(q, 2),
			.arch = (char *)sqlite3_column_text(q, 3),
			.variant = (char *)sqlite3_column_text(q, 4),
		};
		const char *d = (const char *)sqlite3_column_text(q, 0);

		n++;
		if (!d || !have.os || !have.arch || !imgfs_platform_match(&have, &want))
			continue;
		snprintf(digest, dlen, "%s", d);
		snprintf(mt, mlen, "%s", sqlite3_column_text(q, 1) ? (const char *)sqlite3_column_text(q, 1)
								  : MT_OCI_MANIFEST);
		rc = 0;
		break;
	}
	if (rc)
		rc = imgfs_errf(r->err, -ENOENT, 1, "%s: no manifest for %s among the index's %d", r->ref,
				platform, n);
	else if (!imgfs_digest_ok(digest))
		rc = imgfs_errf(r->err, -EINVAL, 1, "%s: the index names a bad digest", r->ref);
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	imgfs_platform_free(&want);
	return rc;
}

/* The manifest at REFERENCE into P, checked against DIGEST when set. */
static int get_manifest(struct reg *r, const char *reference, const char *digest, struct resp *p)
{
	char path[900];
	int rc;

	snprintf(path, sizeof(path), "%s/manifests/%s", r->repo, reference);
	rc = request(r, path, 0, accept_all, p, "manifest");
	if (rc == 0 && !p->body)
		rc = imgfs_errf(r->err, -EPROTO, 1, "%s: an empty manifest", r->ref);
	if (rc == 0 && digest)
		rc = check_bytes(r, p->body, p->len, digest, "manifest");
	return rc;
}

static int is_index(const struct resp *p)
{
	char *mt;
	int yes;

	if (strstr(p->ctype, MT_OCI_INDEX) || strstr(p->ctype, MT_DOCKER_LIST))
		return 1;
	mt = json_text(p->body, "$.mediaType");
	yes = mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
	if (!mt && !strstr(p->ctype, "manifest.v")) {
		char *m = json_text(p->body, "$.manifests");

		yes = m != NULL;
		free(m);
	}
	free(mt);
	return yes;
}

int imgfs_registry_save(const struct imgfs_opts *o, const char *spool, struct imgfs_err *err)
{
	struct reg r;
	struct resp m = { .max = IMGFS_REGISTRY_MANIFEST_MAX, .err = err };
	struct archive *aw = NULL;
	char mdigest[256] = "", mt[256] = MT_OCI_MANIFEST, *index = NULL, *man_member = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc = open_reg(o, &r, err), n = 0;

	if (rc)
		return rc;
	rc = get_manifest(&r, r.reference, imgfs_digest_ok(r.reference) ? r.reference : NULL, &m);
	if (rc)
		goto out;
	if (is_index(&m)) {
		char *list = m.body;

		m.body = NULL;
		rc = choose(&r, list, o->platform, mdigest, sizeof(mdigest), mt, sizeof(mt));
		free(list);
		if (rc == 0)
			rc = get_manifest(&r, mdigest, mdigest, &m);
		if (rc)
			goto out;
	} else {
		struct imgfs_digest d;

		if (m.ctype[0] && strlen(m.ctype) < sizeof(mt))
			snprintf(mt, sizeof(mt), "%.*s", (int)strcspn(m.ctype, ";"), m.ctype);
		imgfs_digest_begin(&d, "sha256:0000000000000000000000000000000000000000000000000000000000000000");
		imgfs_digest_update(&d, m.body, m.len);
		imgfs_digest_end(&d, mdigest, sizeof(mdigest));
	}
	if (strstr(mt, "v1+prettyjws") || strstr(mt, "vnd.docker.distribution.manifest.v1"))
		rc = imgfs_errf(err, -ENOTSUP, 1, "%s: a schema 1 manifest: not supported", o->image);
	if (rc)
		goto out;
	aw = archive_write_new();
	if (!aw || archive_write_set_format_pax_restricted(aw) != ARCHIVE_OK ||
	    archive_write_open_filename(aw, spool) != ARCHIVE_OK) {
		rc = imgfs_errf(err, -EIO, 0, "%s: %s", spool, aw ? archive_error_string(aw) : "out of memory");
		goto out;
	}
	man_member = imgfs_blob_path(mdigest);
	if (asprintf(&index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
		     "\"size\":%zu}]}", mt, mdigest, m.len) < 0)
		index = NULL;
	if (!man_member || !index) {
		rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = tar_bytes(&r, aw, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	if (rc == 0)
		rc = tar_bytes(&r, aw, man_member, m.body, m.len);
	if (rc)
		goto out;
	/* the config, then each layer once (a layer may repeat) */
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT d, s, w FROM (SELECT json_extract(?1, '$.config.digest') AS d,"
			       " json_extract(?1, '$.config.size') AS s, 'config' AS w, -1 AS k"
			       " UNION ALL SELECT json_extract(value, '$.digest'), json_extract(value, '$.size'),"
			       " 'layer ' || key, key FROM json_each(?1, '$.layers')) WHERE json_valid(?1)"
			       " GROUP BY d ORDER BY min(k)", -1, &q, NULL) != SQLITE_OK) {
		rc = imgfs_errf(err, -EIO, 0, "sqlite: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(q, 1, m.body, (int)m.len, SQLITE_STATIC);
	/* the total first, for the progress line */
	while (sqlite3_step(q) == SQLITE_ROW)
		if (sqlite3_column_int64(q, 1) > 0)
			r.total += (uint64_t)sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	r.o = o;
	report(&r, 1);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(q, 0);
		sqlite3_int64 size = sqlite3_column_int64(q, 1);

		if (!d || !imgfs_digest_ok(d) || size < 0 || sqlite3_column_type(q, 1) != SQLITE_INTEGER) {
			rc = imgfs_errf(err, -EINVAL, 1, "%s: manifest %s: %s has no valid digest and size",
					o->image, mdigest, (const char *)sqlite3_column_text(q, 2));
			goto out;
		}
		if (++n > IMGFS_REGISTRY_LAYERS_MAX + 1) {
			rc = imgfs_errf(err, -E2BIG, 1, "%s: more than %d layers", o->image,
					IMGFS_REGISTRY_LAYERS_MAX);
			goto out;
		}
		rc = tar_blob(&r, aw, spool, d, (uint64_t)size, (const char *)sqlite3_column_text(q, 2));
		if (rc)
			goto out;
	}
	if (n == 0) {
		rc = imgfs_errf(err, -EINVAL, 1, "%s: manifest %s names no config", o->image, mdigest);
		goto out;
	}
	report(&r, 1);
	rc = tar_bytes(&r, aw, "index.json", index, strlen(index));
	if (rc == 0 && archive_write_close(aw) != ARCHIVE_OK)
		rc = imgfs_errf(err, -EIO, 0, "%s: %s", spool, archive_error_string(aw));
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	if (aw)
		archive_write_free(aw);
	free(index);
	free(man_member);
	resp_clear(&m);
	close_reg(&r);
	return rc;
}
