/* Internal to libs: the access-token keys beyond the current one
 * (jwt_dir.c, HD_JWT_KEYS_DIR) and what jwt.c lends it. */
#ifndef HD_JWT_DIR_H
#define HD_JWT_DIR_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/jwt.h"

/* Adds every key of folder dir to keys->more (keys->alg and keys->kid set
 * already); HD_ERR_INVALID, logged, for a file that is not a key of alg or
 * a name that is not a kid. What was added stays for hd__jwt_dir_free. */
hd_err hd__jwt_dir_load(hd_jwt_keys *keys, const char *dir);
/* Frees keys->more. */
void hd__jwt_dir_free(hd_jwt_keys *keys);
/* True when pem[0..len) is a public key that suits alg (jwt.c). */
bool hd__jwt_public_key_ok(hd_jwt_alg alg, const unsigned char *pem, size_t len);

#endif
