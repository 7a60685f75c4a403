/* The field daemon's internal contract (docs/architecture.md, "Field
 * service"): the operation handlers, one file per resource, the pure
 * readers of field input (geo.c, tested and fuzzed on their own), and the
 * peers it asks (hd-auth for users, hd-ticket for tickets). */
#ifndef HD_FIELD_H
#define HD_FIELD_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "hd/problem.h"
#include "hd/rfc3339.h"

/* ---- pure input readers (geo.c) ---- */

#define FS_SKILLS_MAX 32
#define FS_SKILL_CHARS 64
/* Room for a normalised skills array as JSON. */
#define FS_SKILLS_JSON_MAX (FS_SKILLS_MAX * (FS_SKILL_CHARS * 6 + 3) + 3)

typedef struct fs_point {
	double lat, lon;
} fs_point;

/* True when lat is in -90..90 and lon in -180..180 (NaN is neither). */
bool fs_point_valid(double lat, double lon);
/* Parses ?near=<lat>,<lon> (decimal numbers, nothing else); false when
 * malformed or out of range. */
bool fs_near_parse(const char *s, fs_point *out);
/* Parses a positive decimal up to max (radius_km); false otherwise. */
bool fs_positive_parse(const char *s, double max, double *out);
/* Normalises one skill into out (trimmed of white space, ASCII lower case,
 * 1..FS_SKILL_CHARS characters of UTF-8 without control characters);
 * false when it is not one. out holds FS_SKILL_CHARS * 4 + 1 bytes. */
bool fs_skill_normalise(const char *in, char *out, size_t out_size);
/* Reads member key of body, an array of skills, normalised, duplicates
 * dropped, sorted, as a JSON array into out (FS_SKILLS_JSON_MAX). False
 * when absent (out untouched) or invalid (an error naming key). */
bool fs_skills_read(const cJSON *body, const char *key, char *out, hd_field_errors *errs);
/* Parses ?skill=a,b (comma-separated skills, each normalised) into a JSON
 * array in out (FS_SKILLS_JSON_MAX); false on an empty element or a bad skill. */
bool fs_skill_filter_parse(const char *s, char *out, size_t out_size);
/* Reads member key of body, {"lat","lon"[,"address"]} (address only when
 * address_ok), into p and *address (NULL when absent); false with errors
 * naming "<key>.lat" etc. */
bool fs_location_read(const cJSON *body, const char *key, bool address_ok, fs_point *p,
    const char **address, hd_field_errors *errs);
/* Minutes to cover km at speed_kmh, rounded up (0 for 0 km). */
long fs_eta_minutes(double km, double speed_kmh);

#ifndef FS_PURE_ONLY
#include "hd/caller.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/idem.h"
#include "hd/ops.h"
#include "hd/outbox.h"
#include "hd/page.h"
#include "hd/peer.h"
#include "hd/reply.h"
#include "hd/request.h"

/* Operation handlers: one per `field` line of proto/operations.def. */
#define HD_OPS_field HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

/* The peers (main.c): open from start to stop. */
hd_rpc_client *fs_auth_client(void);
hd_rpc_client *fs_ticket_client(void);
/* The settings read at start (HD_FIELD_SPEED_KMH, HD_FIELD_MAX_WINDOW_HOURS). */
double fs_speed_kmh(void);
long fs_max_window_hours(void);

/* The Idempotency-Key table of the field schema. */
extern const hd_idem_table fs_idem_table;
/* The query parameters of a plain keyset list. */
extern const char *const fs_page_params[];
extern const char *const fs_priorities[];

/* Replies 200 with column 0 of row 0 of statement stmt and ETag "<version>"
 * from column 1 when given (ver_col >= 0); 404 naming resource when no row. */
void fs_reply_row(hd_rpc_request *req, const hd_db_result *res, int stmt, int ver_col,
    const char *resource, int status);

/* Checks with hd-auth that user_id is an active technician of the caller's
 * tenant; cb gets the verdict on the request's worker: HD_OK and ok, or
 * err (the peer did not answer). */
typedef void (*fs_user_check_cb)(hd_err err, bool ok, void *arg);
hd_err fs_user_check(hd_rpc_request *req, const char *user_id, fs_user_check_cb cb, void *arg);
/* Replies to a peer that did not answer: 503 with Retry-After. */
void fs_reply_peer_down(hd_rpc_request *req, const char *peer);

/* Attachments (attachments.c): claims the ids (a JSON array of UUIDs) for
 * work order work_order_id at hd-ticket as req's caller (images_only: the
 * signature); cb gets hd-ticket's answer, as hd_peer_call's. Then
 * fs_attachments_claimed is true on 200, else it has replied (503, or 422
 * naming field). At most FS_ATTACH_MAX ids per list. */
#define FS_ATTACH_MAX 10
#define FS_ATTACH_IDS_MAX (FS_ATTACH_MAX * 37 + 3)
hd_err fs_attachments_claim(hd_rpc_request *req, const char *work_order_id, const cJSON *ids,
    bool images_only, hd_peer_cb cb, void *arg);
bool fs_attachments_claimed(hd_rpc_request *req, hd_err err, int status, const char *field);

/* A staff member, or the technician of technician_id's user (via SQL):
 * technicians read their own only. The SQL fragment restricting rows of
 * work orders w to the caller: $n is the caller's user id or NULL for staff. */
#define FS_OWN_WO(n)                                                                               \
	" (" n "::uuid IS NULL OR w.technician_id IN (SELECT t.id FROM field.technicians t"        \
	" WHERE t.tenant_id = w.tenant_id AND t.user_id = " n "::uuid))"
/* A statement that sets the planner for the rest of its transaction, first
 * in the batches of the KNN queries (docs/benchmarks.md, "Field service"):
 * - JIT off: PostGIS's function costs make the planner estimate them above
 *   jit_above_cost, and compiling took 40-50 ms of a query that runs in
 *   about 1 ms;
 * - bitmap scans off: the planner cannot estimate `skills @> <parameter>`
 *   (it assumes 50 rows), so it preferred the skills GIN index (a bitmap of
 *   every technician with the skill, ~2,600 of 10,000) and a sort of them
 *   all to walking the location index nearest first, which stops at the
 *   first rows that pass: 10-12 ms against under 1 ms. The GIN index only
 *   serves bitmap scans, so this leaves the KNN index scan. */
extern const char fs_knn_planner_sql[];
#define FS_KNN_PLANNER_STMT                                                                        \
	{                                                                                          \
		fs_knn_planner_sql, 0, NULL                                                        \
	}
/* The caller's id when a technician (sees own work orders only), else NULL. */
const char *fs_viewer(const hd_caller *c);
#endif

#endif
