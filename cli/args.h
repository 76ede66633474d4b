/* Small command-line helpers shared by the chorus subcommands. */
#ifndef CHORUS_CLI_ARGS_H
#define CHORUS_CLI_ARGS_H

/*
 * chorus_args_uint parses the whole of `s` as a decimal number in [lo, hi].
 * Returns 1 and stores it in *out, or 0 (no digits, trailing characters,
 * overflow, out of range); *out is untouched then.
 */
int chorus_args_uint(const char *s, unsigned long long lo, unsigned long long hi,
                     unsigned long long *out);

#endif
