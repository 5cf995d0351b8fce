/*
 * cart_store.h: where carts are kept (app/cart_store.c): their Redis keys
 * and scripts, read by the cart routes (app/http_cart.c), login (the guest
 * cart's merge, app/http_auth.c) and checkout (read and clear).
 */

#ifndef CART_STORE_H
#define CART_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct call;
struct redis_value;

/* A guest cart's token: base64url of 16 random bytes. */
#define CART_TOKEN_LEN 22
/* A guarded script found the caller's session ended (beside DB_*). */
#define CART_NOSESSION 3

int	cart_token_valid(const char *);
void	cart_user_key(int64_t, char *, size_t);
void	cart_guest_key(const char *, char *, size_t);
json_t *cart_items_from_hash(const struct redis_value *);
int	cart_facts_poll(struct call *, json_t *);

/* The cart routes' scripts: DB_* as redis_poll, or CART_NOSESSION. */
int cart_store_get(struct call *, const char *);
int cart_store_put(
    struct call *, const char *, const char *, const char *, const char *);
int cart_store_del(struct call *, const char *, const char *);
int cart_store_clear(struct call *, const char *);

/* Login's merge of a guest cart into the user's: DB_* as redis_poll. */
int cart_store_merge_read(struct call *, const char *, const char *);
int cart_store_merge_write(struct call *, const char *, const char *, json_t *);

#endif
