/*
 * dbinfo: the pool's connection parameters, resolved off the event loop
 * (app/dbinfo.c).
 */

#ifndef DBINFO_H
#define DBINFO_H

int		   dbinfo_load(const char *);
int		   dbinfo_ready(void);
void		   dbinfo_resolve(void (*)(int));
void		   dbinfo_forget(void);
int		   dbinfo_connect_ms(void);
const char *const *dbinfo_keywords(void);
const char *const *dbinfo_values(void);

#endif
