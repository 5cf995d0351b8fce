/*
 * http_cart.h: the cart store's declarations are app/cart_store.h; this
 * name stays for app/http_orders.c until it includes cart_store.h.
 */

#include "cart_store.h"
