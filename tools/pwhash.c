/*
 * pwhash: prints the Argon2id hash of the password read from standard
 * input, as the server stores it.  Used to create operator accounts and
 * the demo accounts from the command line.
 */

#include <sodium.h>

#include <stdio.h>
#include <string.h>

int
main(void)
{
	char   pw[512], hash[crypto_pwhash_STRBYTES];
	size_t len;

	if (sodium_init() < 0 || fgets(pw, sizeof(pw), stdin) == NULL)
		return (1);
	len = strcspn(pw, "\r\n");
	pw[len] = '\0';
	if (crypto_pwhash_str(hash, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
		crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return (1);
	sodium_memzero(pw, sizeof(pw));
	printf("%s\n", hash);
	return (0);
}
