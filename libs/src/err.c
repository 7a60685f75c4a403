/* hd_err: names, messages and HTTP statuses, all generated from HD_ERR_MAP
 * so that the enum and its tables can never drift apart. */
#include "hd/err.h"

static const struct {
	const char *name;
	int status;
	const char *message;
} hd_err_table[HD_ERR__COUNT] = {
#define HD__ERR_ROW(n, s, m) { #n, s, m },
	HD_ERR_MAP(HD__ERR_ROW)
#undef HD__ERR_ROW
};

static int hd_err_known(hd_err err)
{
	return (int)err >= 0 && err < HD_ERR__COUNT;
}

const char *hd_strerror(hd_err err)
{
	return hd_err_known(err) ? hd_err_table[err].message : "unknown error";
}

const char *hd_err_name(hd_err err)
{
	return hd_err_known(err) ? hd_err_table[err].name : "UNKNOWN";
}

int hd_err_http_status(hd_err err)
{
	return hd_err_known(err) ? hd_err_table[err].status : 500;
}
