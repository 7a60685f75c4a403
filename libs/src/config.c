/* Configuration: every HD_* setting is declared once in config.def; this
 * module serves the table, the environment value or the declared default,
 * and validates numbers and booleans without ever exiting. */
#include "hd/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hd/log.h"

static const hd_config_var hd_config_table[] = {
#define HD_SETTING(name, def, description) { name, def, description },
#include "hd/config.def"
#undef HD_SETTING
	{ NULL, NULL, NULL },
};

const hd_config_var *hd_config_vars(void)
{
	return hd_config_table;
}

static const hd_config_var *hd_config_find(const char *name)
{
	for (const hd_config_var *v = hd_config_table; v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

const char *hd_config_str(const char *name)
{
	const char *env = getenv(name);
	if (env != NULL)
		return env;
	const hd_config_var *v = hd_config_find(name);
	return v != NULL && v->def != NULL ? v->def : "";
}

hd_err hd_config_int(const char *name, long min, long max, long *out)
{
	const char *s = hd_config_str(name);
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' || errno != 0 || end == s) {
		hd_log_error("setting %s is not an integer", name);
		return HD_ERR_INVALID;
	}
	if (v < min || v > max) {
		hd_log_error("setting %s=%ld is outside [%ld, %ld]", name, v, min, max);
		return HD_ERR_INVALID;
	}
	*out = v;
	return HD_OK;
}

hd_err hd_config_bool(const char *name, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", NULL };
	static const char *const no[] = { "0", "false", "no", "off", NULL };
	const char *s = hd_config_str(name);
	for (size_t i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return HD_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return HD_OK;
		}
	}
	hd_log_error("setting %s is not a boolean (1/0, true/false, yes/no, on/off)", name);
	return HD_ERR_INVALID;
}

bool hd_config_production(void)
{
	return strcmp(hd_config_str("HD_ENV"), "production") == 0;
}
