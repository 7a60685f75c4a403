/* Blocking PostgreSQL helpers for start-up and tools (the hd_db module, see
 * db.c for the asynchronous side): schema migrations and one-off statements.
 *
 * Migrations: under a session advisory lock keyed by the schema, create the
 * schema and <schema>.schema_migrations, then apply each dir/NNN_*.sql not
 * yet recorded, in name order, each in its own transaction together with
 * its record. Migration files are trusted repository SQL (several statements
 * allowed, no transaction control of their own). Then the shared
 * migrations the daemon asked for (hd_db_migrate_ex: libs/sql/ text with the
 * schema substituted for :"schema" / :'schema', quoted by libpq), each in
 * its own transaction, recorded in the same table under its version.
 * Last, the repeatable files dir/R_*.sql (docs/adding-a-daemon.md,
 * "Migrations"): the current definition of functions, views and triggers,
 * written with CREATE OR REPLACE, kept in one file each instead of a copy
 * per change; each is applied (in its own transaction) when its text is not
 * the one recorded (md5 in schema_migrations.checksum). */
#include "hd/db.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hd/log.h"

#define DB_SCHEMA_MAX 63
#define DB_MIGRATION_MAX_BYTES (4 << 20)

static void db_sync_ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *db_sync_connect(const char *url)
{
	PGconn *pg = PQconnectdb(url);

	if (pg != NULL && PQstatus(pg) != CONNECTION_OK) {
		hd_log_error("db: connect failed: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	if (pg != NULL)
		PQsetNoticeProcessor(pg, db_sync_ignore_notice, NULL);
	return pg;
}

/* Maps a finished result to an error, logging failures with what. */
static hd_err db_sync_check(PGresult *res, const char *what)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	/* EMPTY_QUERY: a migration left with comments only (its statements
	 * moved to a repeatable file) */
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
		return HD_OK;
	if (res == NULL)
		return HD_ERR_NOMEM;
	/* the primary message only: a DETAIL may quote a failing row, whose
	 * values (a password hash, an e-mail) must not reach the logs */
	hd_log_warn("db: %s failed: %s (%s)", what,
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
	    PQresultErrorField(res, PG_DIAG_SQLSTATE));
	return hd_db_err_from_sqlstate(PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

/* Runs one statement (parameters optional) and discards its result. */
static hd_err db_sync_exec(
    PGconn *pg, const char *sql, int nparams, const char *const *params, const char *what)
{
	PGresult *res = nparams > 0 ? PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0)
	                            : PQexec(pg, sql);
	hd_err err = db_sync_check(res, what);

	PQclear(res);
	return err;
}

static bool db_schema_valid(const char *schema)
{
	size_t n = schema ? strlen(schema) : 0;

	if (n == 0 || n > DB_SCHEMA_MAX)
		return false;
	return strspn(schema, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* scandir filter: NNN_*.sql */
static int db_migration_filter(const struct dirent *d)
{
	const char *n = d->d_name;
	size_t len = strlen(n);

	return len > 8 && strspn(n, "0123456789") == 3 && n[3] == '_'
	    && strcmp(n + len - 4, ".sql") == 0;
}

/* scandir filter: R_*.sql, the repeatable files */
static int db_repeatable_filter(const struct dirent *d)
{
	const char *n = d->d_name;
	size_t len = strlen(n);

	return len > 6 && n[0] == 'R' && n[1] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

/* Reads a whole file (bounded) into a malloc'ed string. */
static hd_err db_read_file(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	hd_err err = HD_ERR_IO;

	if (f == NULL)
		return HD_ERR_IO;
	if (fstat(fileno(f), &st) != 0 || st.st_size > DB_MIGRATION_MAX_BYTES)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		err = HD_ERR_NOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		goto out;
	}
	buf[st.st_size] = '\0';
	*out = buf;
	err = HD_OK;
out:
	fclose(f);
	return err;
}

/* Returns true when version is recorded (false on error too: err set). */
static bool db_migration_applied(PGconn *pg, const char *table, const char *version, hd_err *err)
{
	char sql[512];
	PGresult *res;
	bool applied;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE version = $1", table);
	res = PQexecParams(pg, sql, 1, NULL, &version, NULL, NULL, 0);
	*err = db_sync_check(res, "reading schema_migrations");
	applied = *err == HD_OK && PQntuples(res) > 0;
	PQclear(res);
	return applied;
}

/* Runs one migration's text in a transaction with its record. */
static hd_err db_migration_run(PGconn *pg, const char *table, const char *name, const char *text)
{
	char sql[512];
	hd_err err;

	snprintf(sql, sizeof(sql), "INSERT INTO %s (version) VALUES ($1)", table);
	if ((err = db_sync_exec(pg, "BEGIN", 0, NULL, "BEGIN")) != HD_OK)
		return err;
	if ((err = db_sync_exec(pg, text, 0, NULL, name)) != HD_OK
	    || (err = db_sync_exec(pg, sql, 1, (const char *const *)&name, "recording")) != HD_OK
	    || (err = db_sync_exec(pg, "COMMIT", 0, NULL, "COMMIT")) != HD_OK) {
		db_sync_exec(pg, "ROLLBACK", 0, NULL, "ROLLBACK");
		return err;
	}
	hd_log_info("db: applied migration %s", name);
	return HD_OK;
}

/* Applies repeatable file name (its text) when that text is not the one
 * recorded, in a transaction with its record. */
static hd_err db_repeatable_run(PGconn *pg, const char *table, const char *name, const char *text)
{
	char current_sql[512], record_sql[512];
	const char *p[2] = { name, text };
	PGresult *res;
	hd_err err;

	snprintf(current_sql, sizeof(current_sql),
	    "SELECT 1 FROM %s WHERE version = $1 AND checksum = md5($2)", table);
	res = PQexecParams(pg, current_sql, 2, NULL, p, NULL, NULL, 0);
	err = db_sync_check(res, "reading schema_migrations");
	bool current = err == HD_OK && PQntuples(res) > 0;
	PQclear(res);
	if (err != HD_OK || current)
		return err;
	snprintf(record_sql, sizeof(record_sql),
	    "INSERT INTO %s (version, checksum) VALUES ($1, md5($2)) ON CONFLICT (version)"
	    " DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()",
	    table);
	if ((err = db_sync_exec(pg, "BEGIN", 0, NULL, "BEGIN")) != HD_OK)
		return err;
	if ((err = db_sync_exec(pg, text, 0, NULL, name)) != HD_OK
	    || (err = db_sync_exec(pg, record_sql, 2, p, "recording")) != HD_OK
	    || (err = db_sync_exec(pg, "COMMIT", 0, NULL, "COMMIT")) != HD_OK) {
		db_sync_exec(pg, "ROLLBACK", 0, NULL, "ROLLBACK");
		return err;
	}
	hd_log_info("db: applied %s", name);
	return HD_OK;
}

/* Applies file name of dir: a numbered migration once, a repeatable one
 * whenever its text changed. */
static hd_err db_file_apply(
    PGconn *pg, const char *table, const char *dir, const char *name, bool repeatable)
{
	char path[4096];
	char *text = NULL;
	hd_err err;

	if (!repeatable && (db_migration_applied(pg, table, name, &err) || err != HD_OK))
		return err;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((err = db_read_file(path, &text)) != HD_OK) {
		hd_log_error("db: cannot read migration %s", path);
		return err;
	}
	err = repeatable ? db_repeatable_run(pg, table, name, text)
	                 : db_migration_run(pg, table, name, text);
	free(text);
	return err;
}

/* Copies sql with every :"schema" replaced by ident and :'schema' by lit
 * (malloc'ed; NULL when out of memory). */
static char *db_schema_substitute(const char *sql, const char *ident, const char *lit)
{
	static const char ph_ident[] = ":\"schema\"", ph_lit[] = ":'schema'";
	size_t n = 0, ni = strlen(ident), nl = strlen(lit), np = sizeof(ph_ident) - 1;
	char *out;

	for (const char *p = sql; *p != '\0';) {
		bool i = strncmp(p, ph_ident, np) == 0, l = strncmp(p, ph_lit, np) == 0;
		n += i ? ni : l ? nl : 1;
		p += i || l ? np : 1;
	}
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	n = 0;
	for (const char *p = sql; *p != '\0';) {
		bool i = strncmp(p, ph_ident, np) == 0, l = strncmp(p, ph_lit, np) == 0;
		if (i || l) {
			memcpy(out + n, i ? ident : lit, i ? ni : nl);
			n += i ? ni : nl;
			p += np;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

/* Applies each pending shared migration for the schema (ident/lit: its
 * name quoted as an identifier / a literal). */
static hd_err db_migrate_shared(PGconn *pg, const char *table, const char *ident, const char *lit,
    const hd_db_shared_migration *shared)
{
	hd_err err = HD_OK;

	for (const hd_db_shared_migration *m = shared; m != NULL && m->version != NULL; m++) {
		if (db_migration_applied(pg, table, m->version, &err) || err != HD_OK) {
			if (err != HD_OK)
				return err;
			continue;
		}
		char *text = db_schema_substitute(m->sql, ident, lit);
		if (text == NULL)
			return HD_ERR_NOMEM;
		err = db_migration_run(pg, table, m->version, text);
		free(text);
		if (err != HD_OK)
			return err;
	}
	return HD_OK;
}

/* Applies every pending numbered file of dir, or every changed repeatable
 * one; names are sorted by scandir. */
static hd_err db_migrate_dir(PGconn *pg, const char *table, const char *dir, bool repeatable)
{
	struct dirent **names;
	int n = scandir(
	    dir, &names, repeatable ? db_repeatable_filter : db_migration_filter, alphasort);
	hd_err err = HD_OK;

	if (n < 0) {
		hd_log_error("db: cannot list migrations in %s", dir);
		return HD_ERR_IO;
	}
	for (int i = 0; i < n; i++) {
		if (err == HD_OK)
			err = db_file_apply(pg, table, dir, names[i]->d_name, repeatable);
		free(names[i]);
	}
	free(names);
	return err;
}

/* Creates the schema and its migrations table (the lock is held). */
static hd_err db_migrate_prepare(PGconn *pg, const char *quoted, char *table, size_t size)
{
	char sql[512];
	hd_err err;

	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", quoted);
	if ((err = db_sync_exec(pg, sql, 0, NULL, "creating schema")) != HD_OK)
		return err;
	snprintf(table, size, "%s.schema_migrations", quoted);
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE IF NOT EXISTS %s (version text PRIMARY KEY,"
	    " applied_at timestamptz NOT NULL DEFAULT now())",
	    table);
	if ((err = db_sync_exec(pg, sql, 0, NULL, "creating schema_migrations")) != HD_OK)
		return err;
	/* the text a repeatable file was last applied with */
	snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN IF NOT EXISTS checksum text", table);
	return db_sync_exec(pg, sql, 0, NULL, "adding schema_migrations.checksum");
}

hd_err hd_db_migrate(const char *url, const char *schema, const char *dir)
{
	if (dir == NULL)
		return HD_ERR_INVALID;
	return hd_db_migrate_ex(url, schema, dir, NULL);
}

hd_err hd_db_migrate_ex(
    const char *url, const char *schema, const char *dir, const hd_db_shared_migration *shared)
{
	static const char lock_sql[] = "SELECT pg_advisory_lock(hashtext('hd-migrate:' || $1))";
	static const char unlock_sql[] = "SELECT pg_advisory_unlock(hashtext('hd-migrate:' || $1))";
	char table[160];
	char *quoted, *literal = NULL;
	PGconn *pg;
	hd_err err;

	if (url == NULL || !db_schema_valid(schema))
		return HD_ERR_INVALID;
	pg = db_sync_connect(url);
	if (pg == NULL)
		return HD_ERR_UNAVAILABLE;
	quoted = PQescapeIdentifier(pg, schema, strlen(schema));
	literal = quoted != NULL ? PQescapeLiteral(pg, schema, strlen(schema)) : NULL;
	if (literal == NULL) {
		err = HD_ERR_NOMEM;
		goto fail_quote;
	}
	if ((err = db_sync_exec(pg, lock_sql, 1, &schema, "migration lock")) != HD_OK)
		goto fail_quote;
	err = db_migrate_prepare(pg, quoted, table, sizeof(table));
	if (err == HD_OK && dir != NULL)
		err = db_migrate_dir(pg, table, dir, false);
	if (err == HD_OK)
		err = db_migrate_shared(pg, table, quoted, literal, shared);
	if (err == HD_OK && dir != NULL)
		err = db_migrate_dir(pg, table, dir, true);
	db_sync_exec(pg, unlock_sql, 1, &schema, "migration unlock");
fail_quote:
	PQfreemem(literal);
	PQfreemem(quoted);
	PQfinish(pg);
	return err;
}

hd_err hd_db_exec_sync(
    const char *url, const char *sql, int nparams, const char *const *params, char **value_out)
{
	PGconn *pg;
	PGresult *res;
	hd_err err;

	if (url == NULL || sql == NULL || nparams < 0 || nparams > HD_DB_MAX_PARAMS
	    || (nparams > 0 && params == NULL))
		return HD_ERR_INVALID;
	if (value_out)
		*value_out = NULL;
	pg = db_sync_connect(url);
	if (pg == NULL)
		return HD_ERR_UNAVAILABLE;
	res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	err = db_sync_check(res, "statement");
	if (err == HD_OK && value_out && PQresultStatus(res) == PGRES_TUPLES_OK
	    && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*value_out = strdup(PQgetvalue(res, 0, 0));
		if (*value_out == NULL)
			err = HD_ERR_NOMEM;
	}
	PQclear(res);
	PQfinish(pg);
	return err;
}
