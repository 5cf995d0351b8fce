/*
 * creditcode: the unified social credit code (统一社会信用代码, GB 32100-2015)
 * that every vendor and organisation gives: 18 characters, the last a
 * check character over the first 17.
 */

#ifndef CREDITCODE_H
#define CREDITCODE_H

#define CREDITCODE_LEN 18

int creditcode_valid(const char *);
int creditcode_check_char(const char *);

#endif
