/*
 * hostlist: lists of servers as the configuration names them: libpq's
 * multi-host conninfo (host=a,b,c port=1,2,3) and REDIS_SENTINELS
 * (host:port,...), and Sentinel's +switch-master message.
 */

#ifndef HOSTLIST_H
#define HOSTLIST_H

#include <stddef.h>

#define HOSTLIST_MAX  8
#define HOSTLIST_NAME 256
#define HOSTLIST_ADDR 46 /* INET6_ADDRSTRLEN */

struct hostlist_entry {
	char host[HOSTLIST_NAME];
	int  port;
};

int hostlist_split(const char *, char (*)[HOSTLIST_NAME], int);
int hostlist_numeric(const char *);
int hostlist_is_name(const char *);
int hostlist_parse(const char *, int, struct hostlist_entry *, int);
int hostlist_switch_master(const char *, const char *, struct hostlist_entry *);
int hostlist_conninfo(char (*)[HOSTLIST_NAME], int, char (*)[HOSTLIST_NAME],
    int, char (*)[HOSTLIST_ADDR], char *, char *, char *, size_t);

#endif
