/*
 * order_json.h: the 201 body of a placed order (app/order_json.c).
 */

#ifndef ORDER_JSON_H
#define ORDER_JSON_H

char *order_json_placed(json_t *, const char *);

#endif
