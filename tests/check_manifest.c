/* This file contains the unit tests of the manifest parser, run over
 * archives held in memory as tables of member name and content. */
#include "format/manifest_i.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "testutil.h"

/* Digests and blob paths from one repeated hex digit: H64("a") is 64 a's. */
#define H8(x) x x x x x x x x
#define H64(x) H8(H8(x))
#define DG(x) "sha256:" H64(x)
#define BLOB(x) "blobs/sha256/" H64(x)

/* One archive member.  JSON is written with ' for " to stay readable.
 * A member whose data is TOO_BIG reads as larger than any limit. */
struct mem {
	const char *name;
	const char *data;
};

#define END { NULL, NULL }
static const char too_big[] = "";

struct memar {
	const struct mem *m;
	int reads;              /* read() calls, to see what was touched */
	char read_log[4096];    /* names read, ';'-separated */
};

static const struct mem *mem_find(const struct memar *a, const char *name)
{
	for (const struct mem *m = a->m; m->name; m++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

static int mem_read(void *ctx, const char *name, size_t max, char **data, size_t *len)
{
	struct memar *a = ctx;
	const struct mem *m = mem_find(a, name);
	char *d;

	a->reads++;
	/* The log keeps what fits; tests look only at short ones. */
	if (strlen(a->read_log) + strlen(name) + 2 <= sizeof(a->read_log)) {
		strcat(a->read_log, name);
		strcat(a->read_log, ";");
	}
	if (!m)
		return -ENOENT;
	if (m->data == too_big)
		return -EFBIG;
	if (strlen(m->data) > max)
		return -EFBIG;
	d = strdup(m->data);
	ck_assert_ptr_nonnull(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	*data = d;
	*len = strlen(d);
	return 0;
}

static int mem_exists(void *ctx, const char *name)
{
	return mem_find(ctx, name) ? 0 : -ENOENT;
}

/* Parses the archive M; the result and message go to D and E. */
static int parse(const struct mem *m, const char *image, const char *platform,
		 struct imgfs_image_desc *d, struct imgfs_err *e)
{
	struct memar a = { .m = m };
	struct imgfs_member_reader r = { .ctx = &a, .read = mem_read, .exists = mem_exists };

	memset(e, 0, sizeof(*e));
	return imgfs_manifest_parse(d, &r, image, platform, e);
}

/* Expects failure RC with input flag and message MSG. */
static void parse_fails(const struct mem *m, const char *image, const char *platform,
			int rc, const char *msg)
{
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, image, platform, &d, &e), rc);
	ck_assert_str_eq(e.msg, msg);
	ck_assert_int_eq(e.input, 1);
	ck_assert_int_eq(e.code, rc);
	ck_assert_int_eq(d.n_layers, 0);
	ck_assert_ptr_null(d.layers);
}

#define CONFIG2 \
	"{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':" \
	"['" DG("1") "','" DG("2") "']},'history':[{'created_by':'ADD base'}," \
	"{'created_by':'ENV x=1','empty_layer':true},{'created_by':'RUN make'}]}"

/* Docker <= 24: <v1id>/layer.tar, <imageid>.json, repositories. */
START_TEST(docker_classic)
{
	static const struct mem m[] = {
		{ H64("c") ".json", CONFIG2 },
		{ "l1/layer.tar", "" },
		{ "l2/layer.tar", "" },
		{ "repositories", "{'busybox':{'latest':'l2'}}" },
		{ "manifest.json", "[{'Config':'" H64("c") ".json','RepoTags':['busybox:latest'],"
				   "'Layers':['l1/layer.tar','l2/layer.tar']}]" },
		END,
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), 0);
	ck_assert_str_eq(e.msg, "");
	ck_assert_int_eq(d.format, IMGFS_FMT_DOCKER_ARCHIVE);
	ck_assert_str_eq(d.name, "busybox:latest");
	ck_assert_str_eq(d.config_digest, DG("c"));
	ck_assert_ptr_null(d.manifest_digest);
	ck_assert_uint_eq(d.n_layers, 2);
	ck_assert_str_eq(d.layers[0].path, "l1/layer.tar");
	ck_assert_str_eq(d.layers[1].path, "l2/layer.tar");
	ck_assert_ptr_null(d.layers[0].digest);
	ck_assert_str_eq(d.layers[0].diff_id, DG("1"));
	ck_assert_str_eq(d.layers[1].diff_id, DG("2"));
	ck_assert_ptr_null(d.layers[0].media_type);
	ck_assert_int_eq(d.layers[0].size, -1);
	ck_assert(!d.layers[1].estargz);
	ck_assert_str_eq(d.layers[0].created_by, "ADD base");
	ck_assert_str_eq(d.layers[1].created_by, "RUN make");
	imgfs_image_desc_free(&d);
	ck_assert_ptr_null(d.layers);

	/* The same image asked for by name, short name and ID. */
	ck_assert_int_eq(parse(m, "busybox", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "busybox:latest");
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(m, "docker.io/library/busybox:latest", NULL, &d, &e), 0);
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(m, DG("c"), NULL, &d, &e), 0);
	imgfs_image_desc_free(&d);
	parse_fails(m, "busybox:1.36", NULL, -EINVAL,
		    "manifest.json: no image named busybox:1.36; the archive holds: busybox:latest");
}
END_TEST

/* Docker 25 saves an OCI layout beside manifest.json; an untagged save has
 * RepoTags null and index.json "manifests": null, and manifest.json wins. */
START_TEST(docker25_null_tags)
{
	static const struct mem m[] = {
		{ BLOB("a"), "" },
		{ BLOB("c"), "{'rootfs':{'type':'layers','diff_ids':['" DG("a") "']}}" },
		{ "index.json", "{'schemaVersion':2,'manifests':null}" },
		{ "manifest.json", "[{'Config':'" BLOB("c") "','RepoTags':null,'Layers':['" BLOB("a") "']}]" },
		{ "oci-layout", "{'imageLayoutVersion':'1.0.0'}" },
		END,
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), 0);
	ck_assert_int_eq(d.format, IMGFS_FMT_DOCKER_ARCHIVE);
	ck_assert_ptr_null(d.name);
	ck_assert_str_eq(d.config_digest, DG("c"));
	ck_assert_uint_eq(d.n_layers, 1);
	ck_assert_str_eq(d.layers[0].path, BLOB("a"));
	ck_assert_str_eq(d.layers[0].digest, DG("a"));
	ck_assert_str_eq(d.layers[0].diff_id, DG("a"));
	/* No history at all: nothing to map, no failure. */
	ck_assert_ptr_null(d.layers[0].created_by);
	imgfs_image_desc_free(&d);
}
END_TEST

/* ggcr/kaniko tarballs: config member "sha256:<hex>", layers "<hex>.tar.gz". */
START_TEST(docker_ggcr_names)
{
	static const struct mem m[] = {
		{ "sha256:" H64("c"), "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "']}}" },
		{ H64("9") ".tar.gz", "" },
		{ "manifest.json", "[{'Config':'sha256:" H64("c") "','RepoTags':['gcr.io/x/y:v1'],"
				   "'Layers':['" H64("9") ".tar.gz']}]" },
		END,
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), 0);
	ck_assert_str_eq(d.config_digest, DG("c"));
	ck_assert_str_eq(d.name, "gcr.io/x/y:v1");
	ck_assert_str_eq(d.layers[0].path, H64("9") ".tar.gz");
	ck_assert_ptr_null(d.layers[0].digest);
	imgfs_image_desc_free(&d);
}
END_TEST

/* go-containerregistry's null_manifest.tar. */
START_TEST(docker_null_manifest)
{
	static const struct mem m[] = { { "manifest.json", "null" }, END };

	parse_fails(m, NULL, NULL, -EINVAL, "manifest.json: is null, expected an array of images");
}
END_TEST

START_TEST(docker_not_json)
{
	static const struct mem m[] = { { "manifest.json", "[{'Config':" }, END };
	static const struct mem m2[] = { { "manifest.json", "" }, END };
	static const struct mem m3[] = { { "manifest.json", "[] x" }, END };

	parse_fails(m, NULL, NULL, -EINVAL, "manifest.json: not valid JSON");
	parse_fails(m2, NULL, NULL, -EINVAL, "manifest.json: not valid JSON");
	parse_fails(m3, NULL, NULL, -EINVAL, "manifest.json: not valid JSON");
}
END_TEST

/* Every field of manifest.json with the wrong type, one at a time. */
START_TEST(docker_wrong_types)
{
	static const struct { const char *json, *msg; } cases[] = {
		{ "{}", "manifest.json: is an object, expected an array of images" },
		{ "'x'", "manifest.json: is a string, expected an array of images" },
		{ "[]", "manifest.json: holds no images" },
		{ "['c.json']", "manifest.json: image 0 is a string, expected an object" },
		{ "[{'Layers':[]}]", "manifest.json: Config of image 0 is missing" },
		{ "[{'Config':7,'Layers':[]}]",
		  "manifest.json: Config of image 0 is a number, expected a string" },
		{ "[{'Config':'','Layers':[]}]", "manifest.json: Config of image 0 is an empty string" },
		{ "[{'Config':'c\\u0000x','Layers':[]}]",
		  "manifest.json: Config of image 0 is a string with a NUL character" },
		{ "[{'Config':'c.json'}]", "manifest.json: Layers of image 0 is missing" },
		/* Array elements go through json_each, which cut the string
		 * at the NUL as json_extract does: "l.tar" would be read. */
		{ "[{'Config':'c.json','Layers':['l.tar\\u0000x']}]",
		  "manifest.json: Layers[0] of image 0 is a string with a NUL character" },
		{ "[{'Config':'c.json','Layers':[],'RepoTags':['a:1','b\\u0000:1']}]",
		  "manifest.json: RepoTags[1] of image 0 is a string with a NUL character" },
		{ "[{'Config':'c.json','Layers':'l.tar'}]",
		  "manifest.json: Layers of image 0 is a string, expected an array" },
		{ "[{'Config':'c.json','Layers':['l.tar',{}]}]",
		  "manifest.json: Layers[1] of image 0 is an object, expected a string" },
		{ "[{'Config':'c.json','Layers':[],'RepoTags':'a:1'}]",
		  "manifest.json: RepoTags of image 0 is a string, expected an array" },
		{ "[{'Config':'c.json','Layers':[],'RepoTags':[true]}]",
		  "manifest.json: RepoTags[0] of image 0 is a boolean, expected a string" },
		{ "[{'Config':'c.json','Layers':[]},{'Config':null,'Layers':[]}]",
		  "manifest.json: Config of image 1 is null, expected a string" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mem m[] = { { "manifest.json", cases[i].json }, { "c.json", "{}" },
					 { "l.tar", "" }, END };

		parse_fails(m, NULL, NULL, -EINVAL, cases[i].msg);
	}
}
END_TEST

/* The config must describe the same layers as manifest.json. */
START_TEST(docker_config_checks)
{
	static const struct { const char *cfg, *msg; } cases[] = {
		{ "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "','" DG("2") "']}}",
		  "c.json: 3 layers in manifest.json but 2 rootfs.diff_ids" },
		{ "{'rootfs':{'type':'tarballs','diff_ids':[]}}",
		  "c.json: rootfs.type is \"tarballs\", expected \"layers\"" },
		{ "{'rootfs':{'diff_ids':[]}}", "c.json: rootfs.type is missing" },
		{ "{}", "c.json: rootfs is missing" },
		{ "[]", "c.json: the image config is an array, expected an object" },
		{ "{'rootfs':{'type':'layers','diff_ids':{}}}",
		  "c.json: rootfs.diff_ids is an object, expected an array" },
		{ "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "','" DG("2") "',3]}}",
		  "c.json: rootfs.diff_ids[2] is a number, expected a string" },
		{ "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "','" DG("2") "','sha256:../x']}}",
		  "c.json: rootfs.diff_ids[2] \"sha256:../x\" is not a digest" },
		{ "{'rootfs':", "c.json: not valid JSON" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mem m[] = {
			{ "manifest.json", "[{'Config':'c.json','Layers':['a.tar','b.tar','c.tar']}]" },
			{ "c.json", cases[i].cfg },
			{ "a.tar", "" }, { "b.tar", "" }, { "c.tar", "" },
			END,
		};

		parse_fails(m, NULL, NULL, -EINVAL, cases[i].msg);
	}
}
END_TEST

START_TEST(docker_missing_members)
{
	static const struct mem nocfg[] = {
		{ "manifest.json", "[{'Config':'c.json','Layers':['a.tar']}]" },
		{ "a.tar", "" },
		END,
	};
	static const struct mem nolayer[] = {
		{ "manifest.json", "[{'Config':'c.json','Layers':['a.tar','x/layer.tar']}]" },
		{ "c.json", "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "','" DG("2") "']}}" },
		{ "a.tar", "" },
		END,
	};
	static const struct mem big[] = {
		{ "manifest.json", too_big },
		END,
	};

	parse_fails(nocfg, NULL, NULL, -EINVAL,
		    "c.json: listed in manifest.json but missing from the archive");
	parse_fails(nolayer, NULL, NULL, -EINVAL,
		    "x/layer.tar: listed in manifest.json but missing from the archive");
	parse_fails(big, NULL, NULL, -EFBIG, "manifest.json: larger than the 16 MiB limit for JSON");
}
END_TEST

/* podman save -m / docker save a b: choose with --image. */
static const struct mem multi[] = {
	{ "a.json", "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "']}}" },
	{ "b.json", "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "','" DG("2") "']}}" },
	{ H64("d") ".json", "{'rootfs':{'type':'layers','diff_ids':[]}}" },
	{ "1.tar", "" },
	{ "2.tar", "" },
	{ "manifest.json",
	  "[{'Config':'a.json','RepoTags':['localhost/app:1','localhost/app:latest'],'Layers':['1.tar']},"
	  "{'Config':'b.json','RepoTags':['docker.io/library/tool:2'],'Layers':['1.tar','2.tar']},"
	  "{'Config':'" H64("d") ".json','RepoTags':[],'Layers':[]}]" },
	END,
};

START_TEST(docker_multi_image)
{
	struct imgfs_image_desc d;
	struct imgfs_err e;

	parse_fails(multi, NULL, NULL, -EINVAL,
		    "archive holds 3 images, choose one with --image: localhost/app:1, "
		    "localhost/app:latest, docker.io/library/tool:2, " DG("d"));

	ck_assert_int_eq(parse(multi, "tool:2", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "docker.io/library/tool:2");
	ck_assert_uint_eq(d.n_layers, 2);
	ck_assert_str_eq(d.layers[1].path, "2.tar");
	imgfs_image_desc_free(&d);

	/* A name without tag means :latest, which is the second tag of a. */
	ck_assert_int_eq(parse(multi, "app", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "localhost/app:latest");
	ck_assert_str_eq(d.config_digest, "a.json");
	ck_assert_uint_eq(d.n_layers, 1);
	imgfs_image_desc_free(&d);

	ck_assert_int_eq(parse(multi, "localhost/app:1", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "localhost/app:1");
	imgfs_image_desc_free(&d);

	/* The untagged image, by the ID the message offered. */
	ck_assert_int_eq(parse(multi, DG("d"), NULL, &d, &e), 0);
	ck_assert_ptr_null(d.name);
	ck_assert_uint_eq(d.n_layers, 0);
	imgfs_image_desc_free(&d);

	parse_fails(multi, "tool", NULL, -EINVAL,
		    "manifest.json: no image named tool; the archive holds: localhost/app:1, "
		    "localhost/app:latest, docker.io/library/tool:2, " DG("d"));
}
END_TEST

/* Image IDs by prefix, as docker's short IDs: a and b are config members
 * named by their ID, sharing their first 12 hex digits. */
#define IDA "c680b7ced949" H8("a") H8("a") H8("a") H8("a") H8("a") H8("a") "aaaa"
#define IDB "c680b7ced949" H8("b") H8("b") H8("b") H8("b") H8("b") H8("b") "bbbb"
static const struct mem multi_ids[] = {
	{ IDA ".json", "{'rootfs':{'type':'layers','diff_ids':[]}}" },
	{ IDB ".json", "{'rootfs':{'type':'layers','diff_ids':['" DG("1") "']}}" },
	{ "1.tar", "" },
	{ "manifest.json",
	  "[{'Config':'" IDA ".json','Layers':[]},"
	  "{'Config':'" IDB ".json','RepoTags':['b:1'],'Layers':['1.tar']}]" },
	END,
};

START_TEST(docker_id_prefix)
{
	static const struct { const char *want; size_t layers; } ok[] = {
		{ "sha256:" IDA, 0 }, { IDB, 1 }, { "sha256:c680b7ced949a", 0 },
		{ "c680b7ced949b", 1 }, { "c680b7ced949bbbb", 1 },
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	/* The two IDs are 64 digits each: the macros are right. */
	ck_assert_uint_eq(strlen(IDA), 64);
	ck_assert_uint_eq(strlen(IDB), 64);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(parse(multi_ids, ok[i].want, NULL, &d, &e) == 0, "%s: %s", ok[i].want,
			      e.msg);
		ck_assert_uint_eq(d.n_layers, ok[i].layers);
		imgfs_image_desc_free(&d);
	}
	parse_fails(multi_ids, "c680b7ced949", NULL, -EINVAL,
		    "manifest.json: --image c680b7ced949 fits 2 image IDs, give more of one: "
		    "sha256:c680b7ced949a, sha256:c680b7ced949b");
	/* Fewer than 12 digits, upper case, another algorithm: names. */
	parse_fails(multi_ids, "c680b7ced94", NULL, -EINVAL,
		    "manifest.json: no image named c680b7ced94; the archive holds: "
		    "sha256:" IDA ", b:1");
	parse_fails(multi_ids, "C680B7CED949A", NULL, -EINVAL,
		    "manifest.json: no image named C680B7CED949A; the archive holds: "
		    "sha256:" IDA ", b:1");
	parse_fails(multi_ids, "sha512:c680b7ced949a", NULL, -EINVAL,
		    "manifest.json: no image named sha512:c680b7ced949a; the archive holds: "
		    "sha256:" IDA ", b:1");
}
END_TEST

/* An OCI layout as containerd and buildx write it for a multi-platform
 * image: a nested OCI index holding an amd64 manifest, an arm64 one whose
 * blobs were not exported, a buildkit attestation and a Docker manifest
 * list, plus a descriptor of a type nobody knows (with a digest that would
 * be refused if it were used). */
static const struct mem oci_multi[] = {
	{ "oci-layout", "{'imageLayoutVersion':'1.0.0'}" },
	{ "index.json",
	  "{'schemaVersion':2,'manifests':["
	  "{'mediaType':'application/vnd.example.unknown+json','digest':'what:ever/../x','size':1},"
	  "{'mediaType':'application/vnd.oci.image.index.v1+json','digest':'" DG("e") "','size':1,"
	  "'annotations':{'io.containerd.image.name':'docker.io/library/app:1.0',"
	  "'org.opencontainers.image.ref.name':'1.0'}}]}" },
	{ BLOB("e"),
	  "{'schemaVersion':2,'mediaType':'application/vnd.oci.image.index.v1+json','manifests':["
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("1") "','size':1,"
	  "'platform':{'architecture':'amd64','os':'linux'}},"
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("2") "','size':1,"
	  "'platform':{'architecture':'arm64','os':'linux','variant':'v8'}},"
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("3") "','size':1,"
	  "'platform':{'architecture':'unknown','os':'unknown'},"
	  "'annotations':{'vnd.docker.reference.type':'attestation-manifest'}},"
	  "{'mediaType':'application/vnd.docker.distribution.manifest.list.v2+json','digest':'" DG("f") "'}"
	  "]}" },
	{ BLOB("f"),
	  "{'schemaVersion':2,'manifests':["
	  "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','digest':'" DG("4") "',"
	  "'platform':{'architecture':'arm','os':'linux','variant':'v7'}},"
	  "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','digest':'" DG("5") "',"
	  "'platform':{'architecture':'s390x','os':'linux'}}]}" },
	/* linux/amd64 */
	{ BLOB("1"),
	  "{'schemaVersion':2,'config':{'mediaType':'application/vnd.oci.image.config.v1+json',"
	  "'digest':'" DG("a") "','size':1},'layers':["
	  "{'mediaType':'application/vnd.oci.image.layer.v1.tar+gzip','digest':'" DG("6") "','size':1234},"
	  "{'mediaType':'application/vnd.oci.image.layer.v1.tar+zstd','digest':'" DG("7") "','size':5,"
	  "'annotations':{'containerd.io/snapshot/stargz/toc.digest':'" DG("0") "'}}]}" },
	{ BLOB("a"), "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':['"
		     DG("8") "','" DG("9") "']}}" },
	{ BLOB("6"), "" },
	{ BLOB("7"), "" },
	/* linux/arm/v7, Docker schema 2 */
	{ BLOB("4"),
	  "{'schemaVersion':2,'mediaType':'application/vnd.docker.distribution.manifest.v2+json',"
	  "'config':{'mediaType':'application/vnd.docker.container.image.v1+json','digest':'" DG("b") "'},"
	  "'layers':[{'mediaType':'application/vnd.docker.image.rootfs.diff.tar.gzip','digest':'" DG("c") "'}]}" },
	{ BLOB("b"), "{'rootfs':{'type':'layers','diff_ids':['" DG("d") "']}}" },
	{ BLOB("c"), "" },
	END,
};

START_TEST(oci_platform_choice)
{
	struct imgfs_image_desc d;
	struct imgfs_err e;
	char host[64];
	int rc;

	ck_assert_int_eq(parse(oci_multi, NULL, "linux/amd64", &d, &e), 0);
	ck_assert_int_eq(d.format, IMGFS_FMT_OCI);
	ck_assert_str_eq(d.name, "docker.io/library/app:1.0");
	ck_assert_str_eq(d.manifest_digest, DG("1"));
	ck_assert_str_eq(d.config_digest, DG("a"));
	ck_assert_uint_eq(d.n_layers, 2);
	ck_assert_str_eq(d.layers[0].path, BLOB("6"));
	ck_assert_str_eq(d.layers[0].digest, DG("6"));
	ck_assert_str_eq(d.layers[0].diff_id, DG("8"));
	ck_assert_str_eq(d.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	ck_assert_int_eq(d.layers[0].size, 1234);
	ck_assert(!d.layers[0].estargz);
	ck_assert_str_eq(d.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
	ck_assert_int_eq(d.layers[1].size, 5);
	ck_assert(d.layers[1].estargz);
	ck_assert_ptr_null(d.layers[1].created_by);
	imgfs_image_desc_free(&d);

	/* Through the nested Docker manifest list; x86_64 is an alias. */
	ck_assert_int_eq(parse(oci_multi, "app:1.0", "linux/arm/v7", &d, &e), 0);
	ck_assert_str_eq(d.manifest_digest, DG("4"));
	ck_assert_str_eq(d.config_digest, DG("b"));
	ck_assert_uint_eq(d.n_layers, 1);
	ck_assert_str_eq(d.layers[0].media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
	ck_assert_int_eq(d.layers[0].size, -1);
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(oci_multi, NULL, "linux/x86_64", &d, &e), 0);
	ck_assert_str_eq(d.manifest_digest, DG("1"));
	imgfs_image_desc_free(&d);

	/* The chosen platform's blobs must be there; the others need not. */
	parse_fails(oci_multi, NULL, "linux/arm64", -EINVAL, BLOB("2") ": missing manifest blob");
	parse_fails(oci_multi, NULL, "linux/arm/v6", -EINVAL,
		    "index.json: no image for linux/arm/v6, choose one with --platform: "
		    "docker.io/library/app:1.0 (linux/amd64), docker.io/library/app:1.0 (linux/arm64/v8), "
		    "docker.io/library/app:1.0 (linux/arm/v7), docker.io/library/app:1.0 (linux/s390x)");
	parse_fails(oci_multi, NULL, "linux", -EINVAL, "--platform linux: expected os/arch[/variant]");
	parse_fails(oci_multi, "app:2.0", NULL, -EINVAL,
		    "index.json: no image named app:2.0; it holds: docker.io/library/app:1.0");

	/* No --platform: the host's, whatever the test runs on. */
	imgfs_host_platform(host, sizeof(host));
	rc = parse(oci_multi, NULL, NULL, &d, &e);
	if (!strcmp(host, "linux/amd64")) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(d.manifest_digest, DG("1"));
	} else if (!strcmp(host, "linux/arm/v7")) {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(d.manifest_digest, DG("4"));
	} else if (!strcmp(host, "linux/arm64")) {
		ck_assert_int_eq(rc, -EINVAL);
		ck_assert_str_eq(e.msg, BLOB("2") ": missing manifest blob");
	} else {
		ck_assert_int_eq(rc, -EINVAL);
		ck_assert_ptr_nonnull(strstr(e.msg, "no image for this host's platform"));
	}
	imgfs_image_desc_free(&d);
}
END_TEST

/* Two tagged images in one layout, as podman (full names in ref.name,
 * platform only in the configs) writes them. */
static const struct mem oci_two[] = {
	{ "index.json",
	  "{'schemaVersion':2,'manifests':["
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("1") "',"
	  "'annotations':{'org.opencontainers.image.ref.name':'localhost/a:1'}},"
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("2") "',"
	  "'annotations':{'org.opencontainers.image.ref.name':'localhost/b:1'}}]}" },
	{ BLOB("1"), "{'config':{'digest':'" DG("a") "'},'layers':[]}" },
	{ BLOB("2"), "{'config':{'digest':'" DG("b") "'},'layers':["
		     "{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'" DG("6") "'}]}" },
	{ BLOB("a"), "{'os':'linux','architecture':'amd64','rootfs':{'type':'layers','diff_ids':[]}}" },
	{ BLOB("b"), "{'os':'linux','architecture':'amd64','rootfs':{'type':'layers','diff_ids':['"
		     DG("7") "']}}" },
	{ BLOB("6"), "" },
	END,
};

START_TEST(oci_two_images)
{
	struct imgfs_image_desc d;
	struct imgfs_err e;

	parse_fails(oci_two, NULL, "linux/amd64", -EINVAL,
		    "index.json: several images for linux/amd64, choose one with --image: "
		    "localhost/a:1 (linux/amd64), localhost/b:1 (linux/amd64)");
	ck_assert_int_eq(parse(oci_two, "b:1", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "localhost/b:1");
	ck_assert_str_eq(d.manifest_digest, DG("2"));
	ck_assert_uint_eq(d.n_layers, 1);
	ck_assert_str_eq(d.layers[0].diff_id, DG("7"));
	imgfs_image_desc_free(&d);
	parse_fails(oci_two, "c", NULL, -EINVAL,
		    "index.json: no image named c; it holds: localhost/a:1, localhost/b:1");
}
END_TEST

/* Two unnamed manifests (skopeo copy to oci: without a tag, hand-made
 * layouts): --image takes a manifest digest, in full or by a prefix of 12
 * or more digits.  MA and MB share 12 digits, so 13 tell them apart. */
#define MA "c680b7ced949" H8("a") H8("a") H8("a") H8("a") H8("a") H8("a") "aaaa"
#define MB "c680b7ced949" H8("b") H8("b") H8("b") H8("b") H8("b") H8("b") "bbbb"
static const struct mem oci_unnamed[] = {
	{ "index.json",
	  "{'schemaVersion':2,'manifests':["
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'sha256:" MA "'},"
	  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'sha256:" MB "'}]}" },
	{ "blobs/sha256/" MA, "{'config':{'digest':'" DG("a") "'},'layers':[]}" },
	{ "blobs/sha256/" MB, "{'config':{'digest':'" DG("b") "'},'layers':["
			      "{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'" DG("6") "'}]}" },
	{ BLOB("a"), "{'os':'linux','architecture':'amd64','rootfs':{'type':'layers','diff_ids':[]}}" },
	{ BLOB("b"), "{'os':'linux','architecture':'amd64','rootfs':{'type':'layers','diff_ids':['"
		     DG("7") "']}}" },
	{ BLOB("6"), "" },
	END,
};

START_TEST(oci_image_by_digest)
{
	static const struct { const char *want; const char *manifest; } ok[] = {
		/* The forms the message below offers. */
		{ "sha256:c680b7ced949a", "sha256:" MA }, { "sha256:c680b7ced949b", "sha256:" MB },
		{ "sha256:" MA, "sha256:" MA }, { MB, "sha256:" MB },
		{ "c680b7ced949a", "sha256:" MA }, { "c680b7ced949bbb", "sha256:" MB },
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_uint_eq(strlen(MA), 64);
	ck_assert_uint_eq(strlen(MB), 64);
	parse_fails(oci_unnamed, NULL, "linux/amd64", -EINVAL,
		    "index.json: several images for linux/amd64, choose one with --image: "
		    "sha256:c680b7ced949a (linux/amd64), sha256:c680b7ced949b (linux/amd64)");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(parse(oci_unnamed, ok[i].want, NULL, &d, &e) == 0, "%s: %s",
			      ok[i].want, e.msg);
		ck_assert_str_eq(d.manifest_digest, ok[i].manifest);
		ck_assert_ptr_null(d.name);
		imgfs_image_desc_free(&d);
	}
	parse_fails(oci_unnamed, "sha256:c680b7ced949", NULL, -EINVAL,
		    "index.json: --image sha256:c680b7ced949 fits 2 digests, give more of one: "
		    "sha256:c680b7ced949a, sha256:c680b7ced949b");
	parse_fails(oci_unnamed, "c680b7ced94", NULL, -EINVAL,
		    "index.json: no image named c680b7ced94; it holds: "
		    "sha256:c680b7ced949a, sha256:c680b7ced949b");
	parse_fails(oci_unnamed, "sha256:ffffffffffff", NULL, -EINVAL,
		    "index.json: no image named sha256:ffffffffffff; it holds: "
		    "sha256:c680b7ced949a, sha256:c680b7ced949b");
	parse_fails(oci_unnamed, "sha512:c680b7ced949a", NULL, -EINVAL,
		    "index.json: no image named sha512:c680b7ced949a; it holds: "
		    "sha256:c680b7ced949a, sha256:c680b7ced949b");

	/* Named images by digest too: a manifest deep in a nested index,
	 * and the index.json descriptor's own (an index: platform picks). */
	ck_assert_int_eq(parse(oci_multi, "444444444444", NULL, &d, &e), 0);
	ck_assert_str_eq(d.manifest_digest, DG("4"));
	ck_assert_str_eq(d.name, "docker.io/library/app:1.0");
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(oci_multi, "sha256:eeeeeeeeeeee", "linux/amd64", &d, &e), 0);
	ck_assert_str_eq(d.manifest_digest, DG("1"));
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(oci_two, DG("2"), NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "localhost/b:1");
	ck_assert_str_eq(d.manifest_digest, DG("2"));
	imgfs_image_desc_free(&d);
}
END_TEST

/* Docker 25 writes one index.json descriptor per tag: one image under two
 * names needs no choice, and the first name is the one reported. */
START_TEST(oci_one_image_two_tags)
{
	static const struct mem m[] = {
		{ "index.json",
		  "{'manifests':["
		  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("1") "',"
		  "'annotations':{'io.containerd.image.name':'docker.io/library/a:1'}},"
		  "{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG("1") "',"
		  "'annotations':{'io.containerd.image.name':'docker.io/library/a:latest'}}]}" },
		{ BLOB("1"), "{'config':{'digest':'" DG("a") "'},'layers':[]}" },
		{ BLOB("a"), "{'rootfs':{'type':'layers','diff_ids':[]}}" },
		END,
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "docker.io/library/a:1");
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(m, "a", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "docker.io/library/a:latest");
	imgfs_image_desc_free(&d);
}
END_TEST

/* containerd writes only the tag into ref.name. */
START_TEST(oci_containerd_tag_only)
{
	static const struct mem m[] = {
		{ "index.json",
		  "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json',"
		  "'digest':'" DG("1") "','annotations':{'org.opencontainers.image.ref.name':'v2'}}]}" },
		{ BLOB("1"), "{'config':{'digest':'" DG("a") "'},'layers':[]}" },
		{ BLOB("a"), "{'rootfs':{'type':'layers','diff_ids':[]}}" },
		END,
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, "whatever:v2", NULL, &d, &e), 0);
	ck_assert_str_eq(d.name, "v2");
	imgfs_image_desc_free(&d);
	parse_fails(m, "whatever:v3", NULL, -EINVAL,
		    "index.json: no image named whatever:v3; it holds: v2");
}
END_TEST

/* A one-image layout around layer descriptor D (JSON object). */
#define OCI_ONE(layer)                                                                     \
	{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json'," \
			"'digest':'" DG("1") "'}]}" },                                     \
	{ BLOB("1"), "{'config':{'digest':'" DG("a") "'},'layers':[" layer "]}" },          \
	{ BLOB("a"), "{'rootfs':{'type':'layers','diff_ids':['" DG("7") "']}}" }

START_TEST(oci_layer_checks)
{
	static const struct mem enc[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',"
			"'digest':'" DG("6") "'}"),
		{ BLOB("6"), "" }, END,
	};
	static const struct mem erofs[] = {
		OCI_ONE("{'mediaType':'application/vnd.erofs.layer.v1','digest':'" DG("6") "'}"),
		{ BLOB("6"), "" }, END,
	};
	static const struct mem escape[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'sha256:../../" H64("6") "'}"),
		END,
	};
	static const struct mem upper[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'SHA256:" H64("6") "'}"),
		END,
	};
	static const struct mem missing[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',"
			"'digest':'" DG("6") "'}"),
		END,
	};
	static const struct mem badsize[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'" DG("6") "','size':-4}"),
		{ BLOB("6"), "" }, END,
	};
	static const struct mem newline[] = {
		OCI_ONE("{'mediaType':'x\\ny\\u0001z','digest':'" DG("6") "'}"),
		{ BLOB("6"), "" }, END,
	};
	static const struct mem notype[] = {
		OCI_ONE("{'digest':'" DG("6") "'}"),
		{ BLOB("6"), "" }, END,
	};

	parse_fails(enc, NULL, NULL, -EINVAL,
		    BLOB("1") ": layer 0 has unsupported media type "
		    "application/vnd.oci.image.layer.v1.tar+gzip+encrypted");
	parse_fails(erofs, NULL, NULL, -EINVAL,
		    BLOB("1") ": layer 0 has unsupported media type application/vnd.erofs.layer.v1");
	parse_fails(escape, NULL, NULL, -EINVAL,
		    BLOB("1") ": layer 0 has a malformed digest \"sha256:../../" H64("6") "\"");
	parse_fails(upper, NULL, NULL, -EINVAL,
		    BLOB("1") ": layer 0 has a malformed digest \"SHA256:" H64("6") "\"");
	parse_fails(missing, NULL, NULL, -EINVAL, BLOB("6") ": missing layer blob");
	parse_fails(badsize, NULL, NULL, -EINVAL, BLOB("1") ": size of layer 0 is not a byte count");
	parse_fails(newline, NULL, NULL, -EINVAL,
		    BLOB("1") ": layer 0 has unsupported media type x?y?z");
	parse_fails(notype, NULL, NULL, -EINVAL, BLOB("1") ": mediaType of layer 0 is missing");
}
END_TEST

/* A digest in index.json names a file: "../" must never reach the reader. */
START_TEST(oci_bad_digests)
{
	static const struct mem traverse[] = {
		{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json',"
				"'digest':'sha256/../../../etc/passwd'}]}" },
		END,
	};
	static const struct mem short_hex[] = {
		{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.index.v1+json',"
				"'digest':'sha256:abc'}]}" },
		END,
	};
	static const struct mem nodigest[] = {
		{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json'}]}" },
		END,
	};
	static const struct mem cfgdigest[] = {
		{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json',"
				"'digest':'" DG("1") "'}]}" },
		{ BLOB("1"), "{'config':{'digest':'sha256:" H64("a") "/..'},'layers':[]}" },
		END,
	};
	struct memar a = { .m = traverse };
	struct imgfs_member_reader r = { .ctx = &a, .read = mem_read, .exists = mem_exists };
	struct imgfs_image_desc d;
	struct imgfs_err e = { 0 };

	ck_assert_int_eq(imgfs_manifest_parse(&d, &r, NULL, NULL, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "index.json: manifests[0] has a malformed digest "
				"\"sha256/../../../etc/passwd\"");
	ck_assert_str_eq(a.read_log, "index.json;");
	parse_fails(short_hex, NULL, NULL, -EINVAL,
		    "index.json: manifests[0] has a malformed digest \"sha256:abc\"");
	parse_fails(nodigest, NULL, NULL, -EINVAL, "index.json: manifests[0] has no digest");
	{
		static const struct mem other_alg[] = {
			{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json',"
					"'digest':'blake3:../../etc/passwd'}]}" },
			END,
		};
		static const struct mem upper_hex[] = {
			{ "index.json", "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json',"
					"'digest':'sha256:" H64("A") "'}]}" },
			END,
		};

		parse_fails(other_alg, NULL, NULL, -EINVAL,
			    "index.json: manifests[0] has a malformed digest \"blake3:../../etc/passwd\"");
		parse_fails(upper_hex, NULL, NULL, -EINVAL,
			    "index.json: manifests[0] has a malformed digest \"sha256:" H64("A") "\"");
	}
	parse_fails(cfgdigest, NULL, NULL, -EINVAL, BLOB("1") ": config has a malformed digest");
}
END_TEST

START_TEST(oci_index_shapes)
{
	static const struct { const char *json, *msg; } cases[] = {
		{ "{'schemaVersion':2,'manifests':null}", "index.json: no manifests" },
		{ "{'schemaVersion':2,'manifests':[]}", "index.json: no manifests" },
		{ "{'schemaVersion':2}", "index.json: no manifests" },
		{ "[]", "index.json: the image index is an array, expected an object" },
		{ "null", "index.json: the image index is null, expected an object" },
		{ "{'manifests':{}}", "index.json: manifests is an object, expected an array" },
		{ "{'manifests':[1]}", "index.json: manifests[0] is a number, expected an object" },
		{ "{'manifests':[{'mediaType':'application/vnd.in-toto+json','digest':'x'}]}",
		  "index.json: no image manifests" },
		/* Only an attestation: nothing to mount. */
		{ "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'"
		  DG("3") "','platform':{'os':'unknown','architecture':'unknown'}}]}",
		  "index.json: no image manifests" },
		/* Marked by annotation only, with a real platform. */
		{ "{'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'"
		  DG("3") "','platform':{'os':'linux','architecture':'amd64'},"
		  "'annotations':{'vnd.docker.reference.type':'attestation-manifest'}}]}",
		  "index.json: no image manifests" },
		{ "{'manifests':[{'mediaType':'application/vnd.oci.image.index.v1+json','digest':'"
		  DG("3") "'}]}", BLOB("3") ": missing index blob" },
		{ "{", "index.json: not valid JSON" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mem m[] = { { "index.json", cases[i].json }, { "oci-layout", "{}" },
					 END };

		parse_fails(m, NULL, NULL, -EINVAL, cases[i].msg);
	}
}
END_TEST

/* An index that lists itself must not be walked forever, and a chain of
 * nested indexes stops at IMGFS_INDEX_DEPTH_MAX. */
START_TEST(oci_index_loops)
{
#define NEST(x) "{'manifests':[{'mediaType':'application/vnd.oci.image.index.v1+json','digest':'" DG(x) "'}]}"
	static const struct mem self[] = {
		{ "index.json", NEST("e") },
		{ BLOB("e"), "{'manifests':[{'mediaType':'application/vnd.oci.image.index.v1+json','digest':'"
			     DG("e") "'},{'mediaType':'application/vnd.oci.image.index.v1+json','digest':'"
			     DG("e") "'}]}" },
		END,
	};
	static const struct mem deep[] = {
		{ "index.json", NEST("1") },
		{ BLOB("1"), NEST("2") }, { BLOB("2"), NEST("3") }, { BLOB("3"), NEST("4") },
		{ BLOB("4"), NEST("5") }, { BLOB("5"), NEST("6") }, { BLOB("6"), NEST("7") },
		{ BLOB("7"), NEST("8") }, { BLOB("8"), NEST("9") }, { BLOB("9"), NEST("a") },
		END,
	};
#undef NEST

	parse_fails(self, NULL, NULL, -EINVAL, "index.json: no image manifests");
	parse_fails(deep, NULL, NULL, -EINVAL, BLOB("8") ": image indexes nested deeper than 8");
}
END_TEST

/* Many distinct nested indexes (absent ones count too, as each costs a
 * lookup): the walk stops at a fixed number instead of reading them all. */
START_TEST(oci_index_fanout)
{
	size_t cap = 300 * 160 + 64;
	char *idx = malloc(cap), *p = idx;
	struct mem m[] = { { "index.json", idx }, END };

	ck_assert_ptr_nonnull(idx);
	p += sprintf(p, "{'manifests':[");
	for (int i = 0; i < 300; i++)
		p += sprintf(p, "%s{'mediaType':'application/vnd.oci.image.index.v1+json',"
			     "'digest':'sha256:%064x'}", i ? "," : "", i);
	sprintf(p, "]}");
	parse_fails(m, NULL, NULL, -EINVAL, "index.json: more than 256 nested image indexes");
	free(idx);
}
END_TEST

/* History: empty_layer entries describe no layer; a short history leaves
 * the top layers without created_by, a long one is cut, junk is skipped;
 * a comment stands in for an absent or empty created_by. */
START_TEST(history_mapping)
{
	static const struct { const char *history; const char *by[3]; } cases[] = {
		{ "[{'created_by':'FROM scratch','empty_layer':true},{'created_by':'ADD a'},"
		  "{'created_by':'ENV X=1','empty_layer':true},{'created_by':'RUN b'},"
		  "{'comment':'no command'},{'created_by':'RUN extra'}]",
		  { "ADD a", "RUN b", "no command" } },
		/* an empty created_by: the comment; an empty comment: nothing */
		{ "[{'created_by':'','comment':'imported'},{'comment':'','created_by':''},"
		  "{'created_by':'RUN c','comment':'not this'}]",
		  { "imported", NULL, "RUN c" } },
		{ "[{'created_by':'ADD a'}]", { "ADD a", NULL, NULL } },
		{ "[{'created_by':'ADD a','empty_layer':false},7,{'created_by':5},{'created_by':'C'}]",
		  { "ADD a", NULL, "C" } },
		{ "'not a list'", { NULL, NULL, NULL } },
		{ "null", { NULL, NULL, NULL } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cfg[1024];
		const struct mem m[] = {
			{ "manifest.json", "[{'Config':'c.json','Layers':['a','b','c']}]" },
			{ "c.json", cfg },
			{ "a", "" }, { "b", "" }, { "c", "" },
			END,
		};
		struct imgfs_image_desc d;
		struct imgfs_err e;

		snprintf(cfg, sizeof(cfg), "{'rootfs':{'type':'layers','diff_ids':['%s','%s','%s']},"
			 "'history':%s}", DG("1"), DG("2"), DG("3"), cases[i].history);
		ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), 0);
		ck_assert_uint_eq(d.n_layers, 3);
		for (int k = 0; k < 3; k++) {
			if (cases[i].by[k])
				ck_assert_str_eq(d.layers[k].created_by, cases[i].by[k]);
			else
				ck_assert_ptr_null(d.layers[k].created_by);
		}
		imgfs_image_desc_free(&d);
	}
}
END_TEST

/* dive's eStargz fixture: the TOC annotation marks the layer. */
START_TEST(estargz_flag)
{
	static const struct mem m[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.v1.tar+gzip','digest':'" DG("6") "',"
			"'size':4496,'annotations':{'containerd.io/snapshot/stargz/toc.digest':'" DG("0") "',"
			"'io.containers.estargz.uncompressed-size':'12800'}}"),
		{ BLOB("6"), "" }, END,
	};
	static const struct mem plain[] = {
		OCI_ONE("{'mediaType':'application/vnd.oci.image.layer.v1.tar+gzip','digest':'" DG("6") "',"
			"'annotations':{'containerd.io/snapshot/stargz/toc':'not the key'}}"),
		{ BLOB("6"), "" }, END,
	};
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), 0);
	ck_assert_uint_eq(d.n_layers, 1);
	ck_assert(d.layers[0].estargz);
	ck_assert_int_eq(d.layers[0].size, 4496);
	ck_assert_ptr_null(d.name);
	imgfs_image_desc_free(&d);
	ck_assert_int_eq(parse(plain, NULL, NULL, &d, &e), 0);
	ck_assert(!d.layers[0].estargz);
	imgfs_image_desc_free(&d);
}
END_TEST

START_TEST(legacy_repositories)
{
	static const struct mem m[] = {
		{ "repositories", "{'busybox':{'latest':'" H64("1") "'}}" },
		{ H64("1") "/json", "{}" },
		{ H64("1") "/layer.tar", "" },
		END,
	};

	parse_fails(m, NULL, NULL, -ENOTSUP,
		    "pre-1.10 docker-archive (repositories without manifest.json) is not supported; "
		    "re-save it with a current docker or skopeo");
}
END_TEST

/* A plain rootfs tar: the caller takes over, and ERR stays clean. */
START_TEST(plain_rootfs)
{
	static const struct mem m[] = { { "etc/passwd", "root:x:0:0::/root:/bin/sh\n" },
					 { "bin/sh", "" }, END };
	static const struct mem empty[] = { END };
	struct imgfs_image_desc d;
	struct imgfs_err e;

	ck_assert_int_eq(parse(m, NULL, NULL, &d, &e), -ENOMSG);
	ck_assert_str_eq(e.msg, "");
	ck_assert_int_eq(e.code, 0);
	ck_assert_int_eq(e.input, 0);
	ck_assert_int_eq(parse(empty, "x", "linux/amd64", &d, &e), -ENOMSG);
	ck_assert_str_eq(e.msg, "");
	imgfs_image_desc_free(&d);
}
END_TEST

/* Too many layers for the limit: refused before anything is allocated. */
START_TEST(layer_limit)
{
	size_t cap = (IMGFS_LAYERS_MAX + 1) * 6 + 64;
	char *mf = malloc(cap), *p = mf;
	struct mem m[] = { { "manifest.json", mf }, { "c.json", "{}" }, END };

	ck_assert_ptr_nonnull(mf);
	p += sprintf(p, "[{'Config':'c.json','Layers':[");
	for (int i = 0; i <= IMGFS_LAYERS_MAX; i++)
		p += sprintf(p, "%s'l'", i ? "," : "");
	sprintf(p, "]}]");
	parse_fails(m, NULL, NULL, -EINVAL, "manifest.json: image 0 has more than 4096 layers");
	free(mf);
}
END_TEST

START_TEST(host_platform)
{
	struct utsname u;
	char buf[64], tiny[8];

	ck_assert_int_eq(uname(&u), 0);
	imgfs_host_platform(buf, sizeof(buf));
	if (!strcmp(u.machine, "x86_64"))
		ck_assert_str_eq(buf, "linux/amd64");
	else if (!strcmp(u.machine, "aarch64"))
		ck_assert_str_eq(buf, "linux/arm64");
	else if (!strcmp(u.machine, "armv7l"))
		ck_assert_str_eq(buf, "linux/arm/v7");
	else
		ck_assert_int_eq(strncmp(buf, "linux/", 6), 0);
	/* Truncated, never overflowing. */
	imgfs_host_platform(tiny, sizeof(tiny));
	ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 1);
	ck_assert_int_eq(strncmp(tiny, buf, sizeof(tiny) - 1), 0);
}
END_TEST

static Suite *manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *docker = tcase_create("docker-archive");
	TCase *oci = tcase_create("oci");
	TCase *other = tcase_create("other");

	tcase_add_test(docker, docker_classic);
	tcase_add_test(docker, docker25_null_tags);
	tcase_add_test(docker, docker_ggcr_names);
	tcase_add_test(docker, docker_null_manifest);
	tcase_add_test(docker, docker_not_json);
	tcase_add_test(docker, docker_wrong_types);
	tcase_add_test(docker, docker_config_checks);
	tcase_add_test(docker, docker_missing_members);
	tcase_add_test(docker, docker_multi_image);
	tcase_add_test(docker, docker_id_prefix);
	tcase_add_test(docker, layer_limit);
	suite_add_tcase(s, docker);

	tcase_add_test(oci, oci_platform_choice);
	tcase_add_test(oci, oci_two_images);
	tcase_add_test(oci, oci_image_by_digest);
	tcase_add_test(oci, oci_one_image_two_tags);
	tcase_add_test(oci, oci_containerd_tag_only);
	tcase_add_test(oci, oci_layer_checks);
	tcase_add_test(oci, oci_bad_digests);
	tcase_add_test(oci, oci_index_shapes);
	tcase_add_test(oci, oci_index_loops);
	tcase_add_test(oci, oci_index_fanout);
	tcase_add_test(oci, estargz_flag);
	suite_add_tcase(s, oci);

	tcase_add_test(other, history_mapping);
	tcase_add_test(other, legacy_repositories);
	tcase_add_test(other, plain_rootfs);
	tcase_add_test(other, host_platform);
	suite_add_tcase(s, other);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(manifest_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
