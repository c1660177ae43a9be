/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cu-args.h - the operand grammars of GNU coreutils timeout(1), exactly as
 * current coreutils (after 9.11, with gnulib of Aug 2026) has them on
 * GNU/Linux in the C locale: its DURATION, its -s SIGNAL, the signal name
 * -v prints and gnulib's quote() around the command name.  piperun never
 * calls setlocale, so the C locale is the one these follow, but for the
 * number of a DURATION, which is read in the user's locale too (as
 * coreutils does: "0,5" where the decimal point is a comma).  Nothing
 * here prints or exits: the callers word the messages. */
#ifndef PIPERUN_CU_ARGS_H
#define PIPERUN_CU_ARGS_H

/* Room for any name or number cu_signame writes ("RTMAX-14", "-2147483648"),
 * with its NUL. */
#define CU_SIGNAME_MAX 16

/* coreutils timeout's parse_duration: cl_strtod (strtod in the user's
 * locale or the C one, the longer parse; leading blanks, hex floats,
 * "inf" accepted as strtod accepts them), dtimespec_bound() rounding (an
 * underflow to 0 with ERANGE becomes the smallest positive double, so
 * "1e-10000" is a tiny positive duration; "-0" is 0; " -1e-10000" is
 * negative and rejected), then at most ONE suffix char: none or s, m, h, d
 * (the multiplication also goes through dtimespec_bound). Rejects an empty
 * string, no number, a negative value, NaN, two or more trailing chars,
 * an unknown suffix. Returns 0 with *secs (possibly huge or +inf: the
 * caller saturates; -0.0 for "-0", which == 0), -1 when coreutils would
 * say "invalid time interval".  Accepted values lie a little above the
 * text (1 gives 1 + 2^-51) so that coreutils' round-up to nanoseconds
 * (dtotimespec) makes "1" 1.000000001 s.  errno is left as it was. */
int cu_duration(const char *s, double *secs);

/* operand2sig: digits -> strtol with coreutils' folding (n &= n >= 0xFF ?
 * 0xFF : 0x7F, for shells' 128+n and ksh's 256+n); otherwise the name
 * upper-cased in the C locale, with or without "SIG", looked up like
 * gnulib's str2sig (its Linux name table incl. EXIT = 0, IOT, CLD, POLL,
 * IO, PWR, STKFLT, WINCH..., RTMIN, RTMIN+n, RTMAX, RTMAX-n, and after
 * "SIG" a plain number too, unfolded); valid range 0..NSIG-1
 * (SIGNUM_BOUND).  Returns the number, or -1 when invalid (the caller
 * prints "%s: invalid signal" with cu_quote). */
int cu_signal(const char *s);

/* The name timeout -v prints for sig: sig2str's (preferred name first, as
 * in gnulib's table: 29 is "POLL", 6 "ABRT", 17 "CHLD"; real-time ones
 * "RTMIN", "RTMIN+3", "RTMAX-2", "RTMAX" split as sig2str does, the lower
 * half from RTMIN), and the decimal number for 0 and for numbers with no
 * name (32, 33, 65).  Returns buf. */
const char *cu_signame(int sig, char buf[CU_SIGNAME_MAX]);

/* gnulib's quote() in the C locale (locale_quoting_style): 'like this',
 * with the C-style backslash escapes that style uses: \' for the quote,
 * \\ for a backslash, \a \b \f \n \r \t \v, and three octal digits
 * (\001, \177, \303) for every other byte that is not printable ASCII,
 * non-ASCII bytes included; everything else, '?' and '"' too, as is.
 * Returns a malloc'd string (xmalloc). */
char *cu_quote(const char *s);

#endif
