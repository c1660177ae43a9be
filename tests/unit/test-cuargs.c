/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-cuargs.c - coreutils timeout's operand grammars (cu-args.c): every
 * duration of coreutils' tests/timeout/timeout-parameters.sh and
 * timeout-large-parameters.sh, the -s forms, the -v names and quote(). */
#include "config.h"
#include "cu-args.h"
#include "tap.h"
#include "util.h"

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

/* The least double above a positive finite x, by its bits (no libm), to
 * check dtimespec_bound independently of its formula. */
static double succ(double x)
{
	uint64_t u;
	memcpy(&u, &x, sizeof u);
	u++;
	memcpy(&x, &u, sizeof x);
	return x;
}

static void rejects(const char *s, const char *why)
{
	double v = -42;
	ok(cu_duration(s, &v) == -1 && v == -42, "duration \"%s\" rejected (%s)", s, why);
}

static void accepts(const char *s, double want, const char *why)
{
	double v = -42;
	int r = cu_duration(s, &v);
	if (!ok(r == 0 && v == want, "duration \"%s\" is %.17g (%s)", s, want, why))
		printf("#   got: %d, %.17g\n", r, v);
}

/* timeout-parameters.sh and timeout-large-parameters.sh, in order */
static void test_coreutils_durations(void)
{
	rejects("invalid", "timeout-parameters.sh");
	rejects(" -0.1", "negative, after a blank");
	rejects(" -1e-10000", "underflows to -0, bounded to the least negative");
	rejects("42D", "suffixes are lower case only");
	/* Every accepted value went through dtimespec_bound twice (after
	 * strtod, after the x1 of no suffix): two steps above the double
	 * nearest the text. */
	accepts("10.34", succ(succ(10.34)), "bounded up twice");
	accepts("9.999999999", succ(succ(9.999999999)), "bounded up twice");
	accepts("1e-10000", DBL_TRUE_MIN, "underflow is the least positive double");
	double v = 0;
	ok(cu_duration("1e-10000", &v) == 0 && v > 0, "1e-10000 is a positive duration");
	/* large-parameters: TIME_T_OFLOW, UINT_OFLOW, LDBL_MAX as getlimits
	 * prints them on x86-64 */
	accepts("4294967296", succ(succ(4294967296.0)), "UINT_OFLOW");
	ok(cu_duration("9223372036854775808", &v) == 0 && v > 9.2e18, "TIME_T_OFLOW accepted");
	ok(cu_duration("9223372036854775808d", &v) == 0 && v > 7.9e23, "TIME_T_OFLOW d accepted");
	ok(cu_duration("2.34e+5d", &v) == 0 && v >= 2.34e5 * 86400 &&
	   v < 2.34e5 * 86400 + 1e-3, "2.34e+5d is 2.34e5 days");
	accepts("1.189731495357231765e+4932", INFINITY, "LDBL_MAX overflows a double: +inf");
	rejects("-1.189731495357231765e+4932", "-LDBL_MAX is -inf, negative");
}

static void test_more_durations(void)
{
	double v = -1;
	ok(cu_duration("1d", &v) == 0 && v > 86400 && v < 86400 + 1e-9, "1d is a day (bounded up)");
	ok(cu_duration("1.5m", &v) == 0 && v > 90 && v < 90 + 1e-9, "1.5m is 90s (bounded up)");
	ok(cu_duration("2h", &v) == 0 && v > 7200 && v < 7200 + 1e-9, "2h is 7200s");
	accepts("1s", succ(succ(1.0)), "s is x1");
	accepts("0", 0, "0 (no limit) stays 0");
	accepts("0s", 0, "0s too");
	accepts("-0", 0, "-0 is not negative (coreutils 9.1 rejected it)");
	accepts("-0.0", 0, "-0.0 neither");
	accepts("0x1p3", succ(succ(8.0)), "hex float, as strtod");
	accepts("  \t5", succ(succ(5.0)), "leading blanks, as strtod");
	accepts("inf", INFINITY, "inf, as strtod");
	accepts("INFINITYs", INFINITY, "infinity, any case, with a suffix");
	/* dtimespec_bound promises tiny values only to stay below 1e-9: for
	 * a subnormal, phi * c rounds to 0 and c stays as strtod read it */
	accepts("1e-310", 1e-310, "a subnormal stays, not flushed to 0");
	accepts(".5", succ(succ(0.5)), "no integer part");
	accepts("5.", succ(succ(5.0)), "no fraction digits");
	rejects("1ss", "two trailing chars");
	rejects("1 s", "blank before the suffix");
	rejects("1s ", "trailing blank after the suffix");
	rejects("5 ", "a trailing blank is an unknown suffix");
	rejects("1w", "unknown suffix");
	rejects("1S", "upper-case S");
	rejects("", "empty");
	rejects("   ", "blanks only");
	rejects("s", "suffix without a number");
	rejects("nan", "NaN");
	rejects("nan(123)", "NaN with a payload");
	rejects("-inf", "negative infinity");
	rejects("-1", "negative");
	rejects("0x", "\"0\" then an unknown suffix x");
	rejects("1e", "\"1\" then e: 1e is no exponent, e no suffix");
	rejects("+", "a sign alone");
	accepts("0x1d", succ(succ(29.0)), "hex: d is a digit, not days");
	accepts("0x1s", succ(succ(1.0)), "hex: s is the suffix");
}

static void sig_is(const char *s, int want, const char *why)
{
	int got = cu_signal(s);
	if (!ok(got == want, "signal \"%s\" is %d (%s)", s, want, why))
		printf("#   got: %d\n", got);
}

static void test_signals(void)
{
	sig_is("TERM", SIGTERM, "name");
	sig_is("term", SIGTERM, "lower case");
	sig_is("SigTerm", SIGTERM, "mixed case");
	sig_is("SIGTERM", SIGTERM, "with SIG");
	sig_is("sigterm", SIGTERM, "sig in lower case");
	sig_is("15", SIGTERM, "number");
	sig_is("0", 0, "0: only checks the command exists");
	sig_is("EXIT", 0, "EXIT is 0 in gnulib's table");
	sig_is("SIGEXIT", 0, "SIGEXIT too");
	sig_is("KILL", SIGKILL, "KILL");
	sig_is("9", SIGKILL, "9");
	/* operand2sig folds shell statuses: below 0xFF keep 7 bits (128+n),
	 * from 0xFF on 8 bits (ksh's 256+n) */
	sig_is("137", SIGKILL, "137 = 128+9, & 0x7F");
	sig_is("143", SIGTERM, "143 = 128+15");
	sig_is("271", SIGTERM, "271 = 256+15, & 0xFF");
	sig_is("128", 0, "128 & 0x7F = 0");
	sig_is("256", 0, "256 & 0xFF = 0");
	sig_is("255", -1, "255 & 0xFF = 255, out of range");
	sig_is("254", -1, "254 & 0x7F = 126, out of range");
	sig_is("192", SIGRTMAX, "192 & 0x7F = 64");
	sig_is("4294967311", -1, "2^32+15 does not fit an int");
	sig_is("99999999999999999999", -1, "strtol overflow");
	/* current operand2sig checks the range only; 9.1 also wanted a
	 * sig2str name, so it refused 32 and 33 (glibc's own) */
	sig_is("32", 32, "32 has no name but is in range");
	sig_is("160", 32, "160 = 128+32");
	sig_is("64", NSIG - 1, "NSIG-1 is the largest");
	sig_is("65", -1, "NSIG (65 on Linux) is out of range");
	sig_is("015", SIGTERM, "decimal, leading zero");
	sig_is("0x10", -1, "not hex");
	sig_is("15 ", -1, "trailing blank");
	sig_is(" 15", -1, "leading blank: not a digit, so a name");
	sig_is("+15", -1, "sign: not a digit, so a name");
	sig_is("-1", -1, "negative");
	sig_is("SIG15", SIGTERM, "SIG then a number: str2sig's number");
	sig_is("SIG64", 64, "SIG then NSIG-1");
	sig_is("SIG65", -1, "SIG then NSIG");
	sig_is("SIG143", -1, "SIG then a number is not folded");
	sig_is("RTMIN", SIGRTMIN, "RTMIN");
	sig_is("RTMIN+1", SIGRTMIN + 1, "RTMIN+1");
	sig_is("SIGRTMIN+1", SIGRTMIN + 1, "SIGRTMIN+1");
	sig_is("rtmax-1", SIGRTMAX - 1, "rtmax-1, lower case");
	sig_is("RTMAX", SIGRTMAX, "RTMAX");
	sig_is("RTMIN1", SIGRTMIN + 1, "RTMIN1: strtol needs no sign");
	sig_is("RTMIN 1", SIGRTMIN + 1, "RTMIN 1: strtol skips blanks");
	sig_is("RTMIN-1", -1, "RTMIN-1 below the range");
	sig_is("RTMAX+1", -1, "RTMAX+1 above the range");
	sig_is("RTMAX1", -1, "RTMAX1 is +1");
	sig_is("RTMIN+31", -1, "RTMIN+31 past RTMAX");
	sig_is("RTMAX-30", SIGRTMIN, "RTMAX-30 is RTMIN");
	sig_is("RTMINx", -1, "junk after RTMIN");
	sig_is("IOT", SIGABRT, "IOT");
	sig_is("CLD", SIGCHLD, "CLD");
	sig_is("POLL", SIGIO, "POLL");
	sig_is("IO", SIGIO, "IO");
	sig_is("PWR", SIGPWR, "PWR");
	sig_is("STKFLT", SIGSTKFLT, "STKFLT");
	sig_is("WINCH", SIGWINCH, "WINCH");
	sig_is("UNUSED", -1, "UNUSED is not in gnulib's table");
	sig_is("SIG", -1, "SIG alone");
	sig_is("SIGSIGTERM", -1, "SIG only once");
	sig_is("invalid", -1, "invalid");
	sig_is("", -1, "empty");
}

static void name_is(int sig, const char *want)
{
	char buf[CU_SIGNAME_MAX];
	is_str(cu_signame(sig, buf), want, "signal %d is named %s", sig, want);
}

static void test_names(void)
{
	name_is(0, "0");
	name_is(SIGTERM, "TERM");
	name_is(SIGKILL, "KILL");
	name_is(SIGHUP, "HUP");
	name_is(29, "POLL");
	name_is(SIGABRT, "ABRT");
	name_is(SIGCHLD, "CHLD");
	name_is(SIGBUS, "BUS");
	name_is(SIGSYS, "SYS");
	name_is(SIGSTKFLT, "STKFLT");
	name_is(SIGRTMIN, "RTMIN");
	name_is(SIGRTMIN + 1, "RTMIN+1");
	name_is(SIGRTMIN + 15, "RTMIN+15");
	name_is(SIGRTMIN + 16, "RTMAX-14");
	name_is(SIGRTMAX - 2, "RTMAX-2");
	name_is(SIGRTMAX, "RTMAX");
	name_is(32, "32");
	name_is(SIGRTMAX + 1, "65");
	name_is(-1, "-1");
	/* every name reads back as its number */
	int all = 1;
	for (int s = 1; s < NSIG; s++) {
		char buf[CU_SIGNAME_MAX];
		all &= cu_signal(cu_signame(s, buf)) == s;
	}
	ok(all, "every name cu_signame gives reads back through cu_signal");
}

static void quote_is(const char *s, const char *want, const char *why)
{
	char *q = cu_quote(s);
	is_str(q, want, "quote: %s", why);
	free(q);
}

/* What gnulib's quote() prints under LC_ALL=C, derived from
 * quotearg_buffer_restyled (locale_quoting_style, unibyte, isprint);
 * Debian's timeout 9.1 prints the same in "'X': invalid signal". */
static void test_quote(void)
{
	quote_is("sleep", "'sleep'", "a plain word");
	quote_is("", "''", "empty");
	quote_is("it's", "'it\\'s'", "the quote char gets a backslash");
	quote_is("a\\b", "'a\\\\b'", "a backslash is doubled");
	quote_is("a\nb", "'a\\nb'", "newline as \\n");
	quote_is("a\tb", "'a\\tb'", "tab as \\t");
	quote_is("\a\b\f\r\v", "'\\a\\b\\f\\r\\v'", "the other C escapes");
	quote_is("\x7f", "'\\177'", "DEL in octal");
	quote_is("\x01" "5", "'\\0015'", "octal is always 3 digits");
	quote_is("\x1b[0m", "'\\033[0m'", "ESC in octal");
	quote_is("caf\xc3\xa9", "'caf\\303\\251'", "non-ASCII bytes in octal (C locale)");
	quote_is("\xff", "'\\377'", "0xff");
	quote_is("a b\"$`!*?", "'a b\"$`!*?'", "shell specials and double quotes as is");
	quote_is("?\?(", "'?\?('", "no trigraph splitting (?\\?( kept)");
	quote_is("@~#{}", "'@~#{}'", "the rest of printable ASCII as is");
	quote_is("{", "'{'", "a lone brace too");
}

/* In a UTF-8 locale: quote() as coreutils prints it under C.UTF-8 (the
 * same as Debian's timeout 9.1 with LC_ALL=C.UTF-8). */
static void test_quote_utf8(void)
{
	setenv("LC_ALL", "C.UTF-8", 1);
	quote_is("sleep", "\xe2\x80\x98sleep\xe2\x80\x99", "curly quotes");
	quote_is("it's", "\xe2\x80\x98it's\xe2\x80\x99", "an ASCII quote as is");
	quote_is("a\xe2\x80\x99" "b", "\xe2\x80\x98" "a\\\xe2\x80\x99" "b\xe2\x80\x99",
		 "the closing quote gets a backslash");
	quote_is("caf\xc3\xa9", "\xe2\x80\x98" "caf\xc3\xa9\xe2\x80\x99",
		 "a printable character as is");
	quote_is("\xff", "\xe2\x80\x98\\377\xe2\x80\x99", "an invalid byte in octal");
	quote_is("a\tb", "\xe2\x80\x98" "a\\tb\xe2\x80\x99", "tab as \\t");
	setenv("LC_ALL", "C", 1);
}

int main(void)
{
	/* quote() and DURATION follow the user's locale: C unless a test
	 * says otherwise */
	setenv("LC_ALL", "C", 1);
	test_coreutils_durations();
	test_more_durations();
	test_signals();
	test_names();
	test_quote();
	test_quote_utf8();
	return done_testing();
}
