/*
 * image.c — the host's installed image: base image, add-on, components.
 *
 * STATE/image.json records what was installed ({"base":{"version":...},
 * "addon":null}); the components themselves live in the component store.
 * Installing a base image from a bundle (verify the bundle, stage each
 * component's payload with compstore_stage_begin/_commit, activate every
 * revision, then write image.json) needs the bundle library (src/bundle),
 * which is integrated separately: until then hostd_image_install() refuses
 * with a message saying so, and nothing is written.
 */
#include "hostd.h"

#include <errno.h>
#include <stdio.h>

#include "jsonio.h"

int hostd_image_install(struct hostd *h, const char *bundle, const char *base,
			struct seam_err *e)
{
	return err_set(e, ENOSYS,
		       "installing base image %s from %s needs the bundle "
		       "library, not built into this seam-hostd yet",
		       base, bundle);
}

json_t *hostd_image_describe(struct hostd *h)
{
	char path[PATH_MAX];
	json_t *j;

	snprintf(path, sizeof(path), "%s/image.json", h->state);
	if (jsonio_load_file(path, &j, NULL) < 0)
		return json_pack("{s:n,s:n}", "base", "addon");
	return j;
}
