/*
 * recipe.c — see recipe.h. Payloads are built in a private temporary
 * directory that is removed whatever happens; only the finished bundle is
 * written (atomically) to the output path.
 */
#include "recipe.h"

#include "bundle.h"
#include "payload.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECIPE_MAX_FILES 64

struct recipe_ctx {
	const char *recipe;
	const char *programs;
	const char *scripts;
	char tmpdir[4096];
	char **payloads; /* built payload paths */
	size_t npayloads;
};

static int recipe_require_file(const struct recipe_ctx *r, const char *comp,
			       const char *what, const char *path,
			       struct seam_err *e)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	return err_set(
	    e, ENOENT,
	    "recipe %s: component '%s': %s not found at "
	    "%s%s",
	    r->recipe, comp, what, path,
	    strncmp(what, "program", 7) == 0
		? " (build it first; bundles are made of the project's "
		  "real programs)"
		: "");
}

/* Collect the files of one component's payload. */
static int recipe_collect(struct recipe_ctx *r, json_t *comp, const char *name,
			  struct payload_file *files, char (*paths)[4096],
			  char (*names)[256], size_t *n, struct seam_err *e)
{
	json_t *bin = json_object_get(json_object_get(comp, "payload"), "bin");
	json_t *scripts = json_object_get(comp, "scripts"), *v;
	const char *key;
	size_t i;
	int rc;

	*n = 0;
	if (!json_is_object(bin) || json_object_size(bin) == 0)
		return err_set(e, EINVAL,
			       "recipe %s: component '%s': payload "
			       "must be {\"bin\": {\"NAME\": \"PROGRAM\"}}",
			       r->recipe, name);
	json_object_foreach(bin, key, v)
	{
		if (!json_is_string(v) || strchr(key, '/') ||
		    strchr(json_string_value(v), '/') || *n >= RECIPE_MAX_FILES)
			return err_set(e, EINVAL,
				       "recipe %s: component '%s': "
				       "bad bin entry '%s'",
				       r->recipe, name, key);
		snprintf(names[*n], 256, "bin/%s", key);
		snprintf(paths[*n], 4096, "%s/%s", r->programs,
			 json_string_value(v));
		rc = recipe_require_file(r, name, "program", paths[*n], e);
		if (rc < 0)
			return rc;
		(*n)++;
	}
	json_array_foreach(scripts, i, v)
	{
		if (!json_is_string(v) || strchr(json_string_value(v), '/') ||
		    *n >= RECIPE_MAX_FILES)
			return err_set(e, EINVAL,
				       "recipe %s: component '%s': "
				       "bad script name",
				       r->recipe, name);
		snprintf(names[*n], 256, "scripts/%s", json_string_value(v));
		snprintf(paths[*n], 4096, "%s/%s", r->scripts,
			 json_string_value(v));
		rc = recipe_require_file(r, name, "script", paths[*n], e);
		if (rc < 0)
			return rc;
		(*n)++;
	}
	for (i = 0; i < *n; i++) {
		files[i].pf_name = names[i];
		files[i].pf_path = paths[i];
	}
	return 0;
}

static int recipe_component(struct recipe_ctx *r, json_t *comp, size_t idx,
			    struct seam_err *e)
{
	static char paths[RECIPE_MAX_FILES][4096];
	static char names[RECIPE_MAX_FILES][256];
	struct payload_file files[RECIPE_MAX_FILES];
	const char *name = json_string_value(json_object_get(comp, "name"));
	const char *version =
	    json_string_value(json_object_get(comp, "version"));
	char out[4096 + 128], file[128];
	json_t *pl;
	size_t n;
	int rc;

	if (!name || !version || strchr(name, '/') || strchr(version, '/'))
		return err_set(e, EINVAL,
			       "recipe %s: components[%zu]: 'name' "
			       "and 'version' are required (and hold no '/')",
			       r->recipe, idx);
	rc = recipe_collect(r, comp, name, files, paths, names, &n, e);
	if (rc < 0)
		return rc;
	snprintf(file, sizeof(file), "%.40s-%.40s.tar.gz", name, version);
	snprintf(out, sizeof(out), "%s/%s", r->tmpdir, file);
	rc = payload_build(out, files, n, e);
	if (rc < 0)
		return rc;
	r->payloads[r->npayloads] = strdup(out);
	if (!r->payloads[r->npayloads])
		return err_set(e, ENOMEM, "out of memory");
	r->npayloads++;
	pl = json_pack("{s:s}", "file", file);
	if (!pl || json_object_set_new(comp, "payload", pl) != 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static void recipe_cleanup(struct recipe_ctx *r)
{
	size_t i;

	for (i = 0; i < r->npayloads; i++) {
		unlink(r->payloads[i]);
		free(r->payloads[i]);
	}
	free(r->payloads);
	if (r->tmpdir[0])
		rmdir(r->tmpdir);
}

int recipe_build(const char *recipe, const char *programs_dir,
		 const char *scripts_dir, const char *out, struct seam_err *e)
{
	struct recipe_ctx r = {
	    .recipe = recipe, .programs = programs_dir, .scripts = scripts_dir};
	json_t *root, *comps, *comp;
	json_error_t jerr;
	char *text = NULL;
	const char *tmp = getenv("TMPDIR");
	size_t i;
	int rc = 0;

	root = json_load_file(recipe, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, EINVAL,
			       "recipe %s: not valid JSON: line %d: "
			       "%s",
			       recipe, jerr.line, jerr.text);
	comps = json_object_get(root, "components");
	if (!json_is_array(comps) || json_array_size(comps) == 0) {
		json_decref(root);
		return err_set(e, EINVAL,
			       "recipe %s: 'components' must be a "
			       "non-empty array",
			       recipe);
	}
	r.payloads = calloc(json_array_size(comps), sizeof(char *));
	snprintf(r.tmpdir, sizeof(r.tmpdir), "%s/seam-bundle.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!r.payloads || !mkdtemp(r.tmpdir)) {
		r.tmpdir[0] = '\0';
		rc = err_sys(e, "recipe %s: temporary directory", recipe);
		goto out;
	}
	json_array_foreach(comps, i, comp)
	{
		rc = recipe_component(&r, comp, i, e);
		if (rc < 0)
			goto out;
	}
	text = json_dumps(root, JSON_INDENT(2));
	if (!text) {
		rc = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	rc = bundle_build(text, (const char *const *)r.payloads, r.npayloads,
			  out, e);
out:
	free(text);
	recipe_cleanup(&r);
	json_decref(root);
	return rc;
}
