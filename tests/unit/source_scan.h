/* For the unit tests that check the services' sources against proto/ .def files:
 * calls fn on every file of HD_SOURCE_ROOT/services/<svc>/<sub> whose name
 * ends with suffix, with the service's name and the file's text. */
#ifndef HD_TEST_SOURCE_SCAN_H
#define HD_TEST_SOURCE_SCAN_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*source_scan_fn)(const char *svc, const char *path, const char *text, void *arg);

static char *source_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			char *grown = realloc(buf, cap * 2);
			if (grown == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

/* Returns the number of files read. */
static int source_scan(const char *sub, const char *suffix, source_scan_fn fn, void *arg)
{
	char dir[1024];
	int files = 0;
	snprintf(dir, sizeof dir, "%s/services", HD_SOURCE_ROOT);
	DIR *services = opendir(dir);
	if (services == NULL)
		return 0;
	struct dirent *s;
	while ((s = readdir(services)) != NULL) {
		if (s->d_name[0] == '.')
			continue;
		char sdir[1300];
		snprintf(sdir, sizeof sdir, "%s/%s%s%s", dir, s->d_name, *sub ? "/" : "", sub);
		DIR *d = opendir(sdir);
		if (d == NULL)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			size_t nl = strlen(e->d_name), sl = strlen(suffix);
			if (nl <= sl || strcmp(e->d_name + nl - sl, suffix) != 0)
				continue;
			char path[1600];
			snprintf(path, sizeof path, "%s/%s", sdir, e->d_name);
			char *text = source_read(path);
			if (text == NULL)
				continue;
			fn(s->d_name, path, text, arg);
			free(text);
			files++;
		}
		closedir(d);
	}
	closedir(services);
	return files;
}

#endif
