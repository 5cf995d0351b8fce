/*
 * http_cart.h: the cart's Redis layout, shared with login (merge) and
 * checkout (read and clear).
 */

#ifndef HTTP_CART_H
#define HTTP_CART_H

int	cart_token_valid(const char *);
void	cart_user_key(int64_t, char *, size_t);
void	cart_guest_key(const char *, char *, size_t);
json_t *cart_items_from_hash(const struct redis_value *);
int	cart_facts_poll(struct call *, json_t *);

#endif
