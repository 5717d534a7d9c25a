/*
 * recipe.h — build a bundle from a recipe: a manifest whose payloads are
 * described by what goes into them instead of by digest.
 *
 * In a recipe, a component's "payload" is {"bin": {"NAME": "PROGRAM", ...}}:
 * bin/NAME inside the payload comes from PROGRAMS_DIR/PROGRAM; each script the
 * component lists comes from SCRIPTS_DIR/<script> into scripts/<script>. The
 * recipe builds each payload (payload_build), then hands the manifest to
 * bundle_build(), which fills in digests and sizes. A program that does not
 * exist is an error that names it: bundles are made of real programs only.
 */
#ifndef SEAM_BUNDLE_RECIPE_H
#define SEAM_BUNDLE_RECIPE_H

#include "err.h"

int recipe_build(const char *recipe, const char *programs_dir,
		 const char *scripts_dir, const char *out, struct seam_err *e);

#endif
