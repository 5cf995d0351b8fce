/*
 * http_static: the web app (assets/, built by Vite into build/web) at /.
 *
 * The built files are read once, in the parent before the workers are
 * forked, so every worker holds them in memory whatever its filesystem
 * (chroot, seccomp) and no request ever touches the disk.  Vite's hashed
 * names under /assets/ are cached for a year; index.html is revalidated
 * with its ETag.  The shop's client routes (/p/12, /orders, ...) answer
 * index.html; any other path answers 404: index.html to a browser, so the
 * app shows its own 404 page, else problem+json.  A missing file under
 * /assets/ is a problem+json 404.
 * Pre-compressed copies (.br, .gz, written by the build) are served to
 * clients that accept them.  WEB_ROOT names another build directory.
 * The demo products' pictures, drawn by scripts/demo_images.py into
 * IMG_ROOT (var/<instance>/img), are read the same way and served at
 * /img/ (/img/p/12.jpg) with a long Cache-Control.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "problem.h"
#include "routes.h"

#define WEB_FILES_MAX 4096
#define WEB_PATH_MAX  256
#define WEB_FILE_MAX  (16 * 1024 * 1024)

struct web_file {
	char	    path[WEB_PATH_MAX]; /* URL path, "/assets/index-abc.js" */
	u_int8_t   *data;
	size_t	    len;
	u_int8_t   *gz, *br; /* pre-compressed copies, if the build made them */
	size_t	    gz_len, br_len;
	char	    etag[24];
	const char *ctype;
	int	    immutable;
};

int web_static(struct http_request *);

static int		web_cmp(const void *, const void *);
static struct web_file *web_find(const char *);

static struct web_file	web_files[WEB_FILES_MAX];
static size_t		web_nfiles;
static struct web_file *web_index;

static struct api_route route_web = { .name = "not_found" };

/*
 * The shop's client routes (assets/src/router.ts): exact paths and
 * prefixes.  Kept in step with the router by tests/web (short paths, 404).
 * Any other path is 404: index.html for a browser (Accept: text/html), so
 * the app shows its 404 page, else the contract's problem+json.
 */
static const char *web_routes_exact[] = { "/", "/search", "/category", "/cart",
	"/login", "/register", "/checkout", "/orders", "/me", "/impact",
	"/trace", "/vendor", "/org", "/admin", "/verify", NULL };
static const char *web_routes_prefix[] = { "/p/", "/t/", "/r/", "/orders/",
	"/vendor/", "/org/", "/admin/", NULL };

static const struct {
	const char *ext;
	const char *ctype;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".webp", "image/webp" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".woff", "font/woff" },
	{ ".ttf", "font/ttf" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ NULL, NULL },
};

static const char *
web_ctype(const char *path)
{
	const char *dot;
	int	    i;

	if ((dot = strrchr(path, '.')) == NULL || strchr(dot, '/') != NULL)
		return ("application/octet-stream");
	for (i = 0; web_types[i].ext != NULL; i++) {
		if (strcasecmp(dot, web_types[i].ext) == 0)
			return (web_types[i].ctype);
	}
	return ("application/octet-stream");
}

static int
web_read(const char *fs, u_int8_t **data, size_t *len)
{
	struct stat st;
	ssize_t	    r;
	size_t	    off;
	int	    fd;

	if ((fd = open(fs, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > WEB_FILE_MAX) {
		(void)close(fd);
		return (0);
	}
	*len = (size_t)st.st_size;
	*data = kore_malloc(*len + 1);
	for (off = 0; off < *len; off += (size_t)r) {
		r = read(fd, *data + off, *len - off);
		if (r <= 0) {
			(void)close(fd);
			kore_free(*data);
			*data = NULL;
			return (0);
		}
	}
	(void)close(fd);
	return (1);
}

/* FNV-1a over the content: the ETag changes whenever the file does. */
static void
web_etag(struct web_file *f)
{
	u_int64_t h = 1469598103934665603ULL;
	size_t	  i;

	for (i = 0; i < f->len; i++) {
		h ^= f->data[i];
		h *= 1099511628211ULL;
	}
	(void)snprintf(
	    f->etag, sizeof(f->etag), "\"%016llx\"", (unsigned long long)h);
}

static int
web_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return (ls >= lx && strcmp(s + ls - lx, suffix) == 0);
}

static void
web_walk(const char *fsdir, const char *urldir, int depth)
{
	struct web_file *f;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 fs[1024], url[WEB_PATH_MAX], pre[1040];

	if (depth > 4 || (d = opendir(fsdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(fs, sizeof(fs), "%s/%s", fsdir,
			de->d_name) >= sizeof(fs) ||
		    (size_t)snprintf(url, sizeof(url), "%s/%s", urldir,
			de->d_name) >= sizeof(url))
			continue;
		if (stat(fs, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			web_walk(fs, url, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode) || web_has_suffix(url, ".gz") ||
		    web_has_suffix(url, ".br") || web_has_suffix(url, ".map"))
			continue;
		if (web_nfiles == WEB_FILES_MAX) {
			kore_log(LOG_NOTICE, "web: more than %d files, %s left",
			    WEB_FILES_MAX, url);
			continue;
		}
		f = &web_files[web_nfiles];
		memset(f, 0, sizeof(*f));
		if (!web_read(fs, &f->data, &f->len))
			continue;
		(void)kore_strlcpy(f->path, url, sizeof(f->path));
		f->ctype = web_ctype(url);
		f->immutable = strncmp(url, "/assets/", 8) == 0 ||
		    strncmp(url, "/img/", 5) == 0;
		web_etag(f);
		(void)snprintf(pre, sizeof(pre), "%s.gz", fs);
		if (!web_read(pre, &f->gz, &f->gz_len))
			f->gz = NULL;
		(void)snprintf(pre, sizeof(pre), "%s.br", fs);
		if (!web_read(pre, &f->br, &f->br_len))
			f->br = NULL;
		web_nfiles++;
	}
	(void)closedir(d);
}

/* Called by the parent before the workers are forked (app/main.c). */
void
web_static_init(void)
{
	const char *root;

	if ((root = getenv("WEB_ROOT")) == NULL || *root == '\0')
		root = "build/web";
	web_nfiles = 0;
	web_index = NULL;
	web_walk(root, "", 0);
	if ((root = getenv("IMG_ROOT")) != NULL && *root != '\0')
		web_walk(root, "/img", 0);
	qsort(web_files, web_nfiles, sizeof(web_files[0]), web_cmp);
	web_index = web_find("/index.html");
	if (web_index == NULL)
		kore_log(LOG_NOTICE,
		    "web: no %s/index.html: the shop is not built (make build)",
		    root);
}

static int
web_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct web_file *)a)->path,
	    ((const struct web_file *)b)->path));
}

/* The files are sorted by path (web_static_init): a binary search. */
static struct web_file *
web_find(const char *path)
{
	size_t lo = 0, hi = web_nfiles, mid;
	int    c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(web_files[mid].path, path)) == 0)
			return (&web_files[mid]);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (NULL);
}

static int
web_is_client_route(const char *path)
{
	int i;

	for (i = 0; web_routes_exact[i] != NULL; i++) {
		if (strcmp(path, web_routes_exact[i]) == 0)
			return (1);
	}
	for (i = 0; web_routes_prefix[i] != NULL; i++) {
		if (strncmp(path, web_routes_prefix[i],
			strlen(web_routes_prefix[i])) == 0 &&
		    path[strlen(web_routes_prefix[i])] != '\0')
			return (1);
	}
	return (0);
}

/*
 * Whether Accept-Encoding names a coding (and does not refuse it with
 * q=0).  Tokens are compared whole: "br" is not found in "brx".
 */
static int
web_accepts(struct http_request *req, const char *coding)
{
	const char *ae, *p, *end;
	size_t	    n = strlen(coding);

	if (!http_request_header(req, "accept-encoding", &ae))
		return (0);
	for (p = ae; *p != '\0'; p = (*end == ',') ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		if ((size_t)(end - p) >= n && strncasecmp(p, coding, n) == 0 &&
		    (p[n] == ',' || p[n] == ';' || p[n] == ' ' ||
			p[n] == '\0')) {
			const char *q = p + n + strspn(p + n, " ;");
			if (strncmp(q, "q=0", 3) == 0 &&
			    strspn(q + 3, ".0") == strcspn(q + 3, ", "))
				return (0);
			return (1);
		}
	}
	return (0);
}

static int
web_not_found(struct http_request *req, const char *detail)
{
	struct call c;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.route = &route_web;
	(void)clock_gettime(CLOCK_MONOTONIC, &c.started);
	(void)problem(&c, 404, "not_found", detail);
	return (KORE_RESULT_OK);
}

static void
web_send(struct http_request *req, int status, struct web_file *f)
{
	const char *inm;
	u_int8_t   *body = f->data;
	size_t	    len = f->len;

	http_response_header(req, "content-type", f->ctype);
	http_response_header(req, "etag", f->etag);
	http_response_header(req, "cache-control",
	    f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
	if (f->gz != NULL || f->br != NULL)
		http_response_header(req, "vary", "Accept-Encoding");
	if (status == 200 && http_request_header(req, "if-none-match", &inm) &&
	    strstr(inm, f->etag) != NULL) {
		http_response(req, 304, NULL, 0);
		return;
	}
	if (f->br != NULL && web_accepts(req, "br")) {
		http_response_header(req, "content-encoding", "br");
		body = f->br;
		len = f->br_len;
	} else if (f->gz != NULL && web_accepts(req, "gzip")) {
		http_response_header(req, "content-encoding", "gzip");
		body = f->gz;
		len = f->gz_len;
	}
	/* By reference: the files live as long as the worker. */
	http_response_stream(req, status, body, len, NULL, NULL);
}

int
web_static(struct http_request *req)
{
	struct web_file *f;
	struct call	 c;
	const char	*accept;

	if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
		memset(&c, 0, sizeof(c));
		c.req = req;
		c.route = &route_web;
		(void)clock_gettime(CLOCK_MONOTONIC, &c.started);
		http_response_header(req, "allow", "GET, HEAD");
		(void)problem(&c, 405, "method_not_allowed",
		    "method not allowed on this resource");
		return (KORE_RESULT_OK);
	}
	if ((f = web_find(req->path)) != NULL) {
		web_send(req, 200, f);
		return (KORE_RESULT_OK);
	}
	if (strncmp(req->path, "/assets/", 8) == 0 || web_index == NULL)
		return (web_not_found(req, "no such file"));
	if (web_is_client_route(req->path)) {
		web_send(req, 200, web_index);
		return (KORE_RESULT_OK);
	}
	/* A browser gets the app's 404 page; other clients problem+json. */
	if (!http_request_header(req, "accept", &accept) ||
	    strstr(accept, "text/html") == NULL)
		return (web_not_found(req, "no such route"));
	web_send(req, 404, web_index);
	return (KORE_RESULT_OK);
}
