/* Configuration from HD_* environment variables. Every setting the project
 * knows is declared once in config.def (name, default, description); the
 * README's table is generated from it. Getters validate and never exit. */
#ifndef HD_CONFIG_H
#define HD_CONFIG_H
#include <stdbool.h>
#include "hd/err.h"

/* One declared setting. */
typedef struct hd_config_var {
	const char *name; /* "HD_HTTP_PORT" */
	const char *def; /* default value, NULL when there is none */
	const char *description; /* one line for the README table */
} hd_config_var;

/* Returns the table of every declared setting, terminated by a NULL name. */
const hd_config_var *hd_config_vars(void);
/* Returns the value of name from the environment, else its declared default
 * (or def_override when not NULL). Never NULL: "" when unset without default. */
const char *hd_config_str(const char *name);
/* Parses name as an integer in [min, max] into *out; HD_ERR_INVALID with a log
 * line naming the setting when it is malformed or out of range. */
hd_err hd_config_int(const char *name, long min, long max, long *out);
/* Parses name as a boolean (1/0, true/false, yes/no, on/off). */
hd_err hd_config_bool(const char *name, bool *out);
/* True when HD_ENV is "production": missing secrets are then start-up errors. */
bool hd_config_production(void);

#endif
