/*
 * settings.c — see settings.h.
 */
#include "settings.h"

#include <errno.h>
#include <string.h>

json_t *settings_defaults(void)
{
	return json_pack(
	    "{s:s,s:s,s:{s:b,s:i},s:{s:s,s:i,s:i},s:i,s:s,s:[ss],s:s,"
	    "s:i}",
	    "live_patch", "auto", "drs_automation", "fully_automated",
	    "parallel_remediation", "enabled", 0, "max_hosts", 1,
	    "failure_action", "action", "fail", "retry_count", 3,
	    "retry_delay_s", 30, "tolerated_failures", 0, "power_policy",
	    "do_not_change", "live_patch_ineligible", "tpm", "dpu",
	    "min_acceptance", "partner", "host_timeout_ms", 30000);
}

static int settings_enum(const char *key, const json_t *v,
			 const char *const *allowed, struct seam_err *e)
{
	size_t i;

	if (json_is_string(v))
		for (i = 0; allowed[i]; i++)
			if (!strcmp(allowed[i], json_string_value(v)))
				return 0;
	{
		char list[256] = "";

		for (i = 0; allowed[i]; i++) {
			strncat(list, i ? ", " : "",
				sizeof(list) - strlen(list) - 1);
			strncat(list, allowed[i],
				sizeof(list) - strlen(list) - 1);
		}
		return err_set(e, EINVAL, "setting '%s' must be one of: %s",
			       key, list);
	}
}

static int settings_uint(const char *key, const json_t *v, json_int_t min,
			 json_int_t max, struct seam_err *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return err_set(e, EINVAL,
			       "setting '%s' must be an integer from %lld to "
			       "%lld",
			       key, (long long)min, (long long)max);
	return 0;
}

static int settings_parallel(const json_t *v, struct seam_err *e)
{
	const char *k;
	json_t *x;
	int rc;

	if (!json_is_object(v))
		return err_set(e, EINVAL,
			       "setting 'parallel_remediation' must be an "
			       "object {enabled, max_hosts}");
	json_object_foreach((json_t *)v, k, x)
	{
		if (!strcmp(k, "enabled")) {
			if (!json_is_boolean(x))
				return err_set(e, EINVAL,
					       "setting "
					       "'parallel_remediation.enabled' "
					       "must be a boolean");
		} else if (!strcmp(k, "max_hosts")) {
			if ((rc = settings_uint("parallel_remediation."
						"max_hosts",
						x, 1, 1024, e)) < 0)
				return rc;
		} else {
			return err_set(
			    e, EINVAL,
			    "setting 'parallel_remediation': unknown "
			    "field '%s'",
			    k);
		}
	}
	return 0;
}

static int settings_failure(const json_t *v, struct seam_err *e)
{
	static const char *const actions[] = {"fail", "retry", NULL};
	const char *k;
	json_t *x;
	int rc;

	if (!json_is_object(v))
		return err_set(e, EINVAL,
			       "setting 'failure_action' must be an object "
			       "{action, retry_count, retry_delay_s}");
	json_object_foreach((json_t *)v, k, x)
	{
		if (!strcmp(k, "action"))
			rc = settings_enum("failure_action.action", x, actions,
					   e);
		else if (!strcmp(k, "retry_count"))
			rc = settings_uint("failure_action.retry_count", x, 0,
					   100, e);
		else if (!strcmp(k, "retry_delay_s"))
			rc = settings_uint("failure_action.retry_delay_s", x, 0,
					   86400, e);
		else
			rc = err_set(e, EINVAL,
				     "setting 'failure_action': unknown field "
				     "'%s'",
				     k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int settings_strings(const char *key, const json_t *v,
			    struct seam_err *e)
{
	json_t *x;
	size_t i;

	if (!json_is_array(v))
		return err_set(e, EINVAL,
			       "setting '%s' must be an array of strings", key);
	json_array_foreach(
	    (json_t *)v, i,
	    x) if (!json_is_string(x)) return err_set(e, EINVAL,
						      "setting '%s'[%zu] must "
						      "be a string",
						      key, i);
	return 0;
}

int settings_validate(const json_t *s, struct seam_err *e)
{
	static const char *const live[] = {"disable", "auto", "enforce", NULL};
	static const char *const drs[] = {"manual", "partially_automated",
					  "fully_automated", NULL};
	static const char *const power[] = {"power_off", "suspend",
					    "do_not_change", NULL};
	static const char *const levels[] = {"community", "partner",
					     "certified", NULL};
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(s))
		return err_set(e, EINVAL, "settings must be an object");
	json_object_foreach((json_t *)s, k, v)
	{
		if (!strcmp(k, "live_patch"))
			rc = settings_enum(k, v, live, e);
		else if (!strcmp(k, "drs_automation"))
			rc = settings_enum(k, v, drs, e);
		else if (!strcmp(k, "parallel_remediation"))
			rc = settings_parallel(v, e);
		else if (!strcmp(k, "failure_action"))
			rc = settings_failure(v, e);
		else if (!strcmp(k, "tolerated_failures"))
			rc = settings_uint(k, v, 0, 100000, e);
		else if (!strcmp(k, "power_policy"))
			rc = settings_enum(k, v, power, e);
		else if (!strcmp(k, "live_patch_ineligible"))
			rc = settings_strings(k, v, e);
		else if (!strcmp(k, "min_acceptance"))
			rc = settings_enum(k, v, levels, e);
		else if (!strcmp(k, "host_timeout_ms"))
			rc = settings_uint(k, v, 100, 3600000, e);
		else
			rc = err_set(e, EINVAL, "unknown setting '%s'", k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

json_t *settings_merge(const json_t *base, const json_t *over)
{
	json_t *out = json_deep_copy(base ? base : json_object()), *v, *cur;
	const char *k;

	if (!out)
		out = json_object();
	json_object_foreach((json_t *)over, k, v)
	{
		cur = json_object_get(out, k);
		if (json_is_object(cur) && json_is_object(v))
			json_object_update(cur, v);
		else
			json_object_set(out, k, v);
	}
	return out;
}

json_t *settings_effective(const json_t *global, const json_t *cluster)
{
	json_t *d = settings_defaults(), *g, *r;

	g = settings_merge(d, global);
	r = settings_merge(g, cluster);
	json_decref(d);
	json_decref(g);
	return r;
}
