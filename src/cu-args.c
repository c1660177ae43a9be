/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cu-args.c - coreutils timeout(1)'s operand grammars (see cu-args.h).
 * The algorithms follow coreutils' src/timeout.c (parse_duration,
 * apply_time_suffix) and src/operand2sig.c, and gnulib's
 * dtimespec-bound.h (Paul Eggert, after Rump, Zimmermann, Boldo and
 * Melquiond), sig2str.c and quotearg.c, all GPL-3.0-or-later; the code
 * is our own and keeps only what GNU/Linux in the C locale reaches. */
#include "config.h"
#include "cu-args.h"
#include "util.h"

#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <wctype.h>
#include <wchar.h>
#include <langinfo.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- durations */

/* gnulib's dtimespec_bound: a bound a little above c, so that a value
 * that strtod or a multiplication rounded down still times out no
 * earlier than asked; an underflow to zero (err == ERANGE) becomes the
 * smallest double of its sign.  NaN stays NaN, +-inf stays.  Only
 * signbit (a macro), so no -lm. */
static double timespec_bound(double c, int err)
{
	if (err == ERANGE && c == 0)
		return signbit(c) ? -DBL_TRUE_MIN : DBL_TRUE_MIN;
	double phi = DBL_EPSILON / 2 * (1 + DBL_EPSILON);
	return c + phi * c;
}

/* apply_time_suffix's table: the multiplier for suffix c, or 0. */
static int suffix_multiplier(char c)
{
	switch (c) {
	case '\0':
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 60 * 60;
	case 'd':
		return 60 * 60 * 24;
	default:
		return 0;
	}
}

/* gnulib's cl_strtod: strtod in the user's locale (LC_ALL, LC_NUMERIC,
 * LANG: what coreutils' setlocale(LC_ALL, "") would give it; piperun
 * itself stays in the C locale, so the number is read with strtod_l),
 * and in the C locale when that reads no further: the longer parse
 * wins, a tie goes to the user's locale.  errno as strtod leaves it. */
static double cl_strtod(const char *s, char **end)
{
	locale_t user = newlocale(LC_NUMERIC_MASK, "", (locale_t)0);
	double d = user ? strtod_l(s, end, user) : strtod(s, end);
	if (user)
		freelocale(user);
	if (**end) {
		int e = errno;
		char *c_end;
		double c = strtod(s, &c_end);
		if (*end < c_end) {
			d = c;
			*end = c_end;
		} else {
			errno = e;
		}
	}
	return d;
}

int cu_duration(const char *s, double *secs)
{
	int saved = errno;
	char *ep;
	errno = 0;
	double d = cl_strtod(s, &ep);
	double v = timespec_bound(d, errno);
	errno = saved;
	if (ep == s || !(0 <= v) || (*ep && ep[1]))
		return -1;
	int mult = suffix_multiplier(*ep);
	if (!mult)
		return -1;
	/* coreutils bounds again even for no suffix (x1), so do we */
	*secs = timespec_bound(v * mult, 0);
	return 0;
}

/* ------------------------------------------------------------ signals */

/* gnulib's SIGNUM_BOUND on glibc: NSIG - 1 (64 on Linux). */
#ifdef NSIG
#define CU_SIGNUM_BOUND (NSIG - 1)
#else
#define CU_SIGNUM_BOUND 64
#endif

#define NUMNAME(name) { SIG##name, #name }
/* gnulib sig2str.c's table, in its order (the preferred name of a number
 * is the first with it), keeping the entries glibc on Linux defines; the
 * Solaris, AIX, BSD, Haiku and Windows ones it lists never are. */
static const struct {
	int num;
	char name[8];
} numname_table[] = {
	/* POSIX base, in traditional numeric order where possible */
	NUMNAME(HUP), NUMNAME(INT), NUMNAME(QUIT), NUMNAME(ILL),
	NUMNAME(TRAP), NUMNAME(ABRT), NUMNAME(FPE), NUMNAME(KILL),
	NUMNAME(SEGV), NUMNAME(BUS), NUMNAME(PIPE), NUMNAME(ALRM),
	NUMNAME(TERM), NUMNAME(USR1), NUMNAME(USR2), NUMNAME(CHLD),
	NUMNAME(URG), NUMNAME(STOP), NUMNAME(TSTP), NUMNAME(CONT),
	NUMNAME(TTIN), NUMNAME(TTOU),
	/* POSIX XSI */
	NUMNAME(SYS),
#ifdef SIGPOLL
	NUMNAME(POLL),
#endif
	NUMNAME(VTALRM), NUMNAME(PROF), NUMNAME(XCPU), NUMNAME(XFSZ),
	/* Unix V7, USG, System V, Linux */
#ifdef SIGIOT
	NUMNAME(IOT),
#endif
#ifdef SIGEMT
	NUMNAME(EMT),
#endif
#ifdef SIGCLD
	NUMNAME(CLD),
#endif
#ifdef SIGPWR
	NUMNAME(PWR),
#endif
#ifdef SIGLOST
	NUMNAME(LOST),
#endif
#ifdef SIGWINCH
	NUMNAME(WINCH),
#endif
#ifdef SIGINFO
	NUMNAME(INFO),
#endif
#ifdef SIGIO
	NUMNAME(IO),
#endif
#ifdef SIGSTKFLT
	NUMNAME(STKFLT),
#endif
	/* Korn shell and Bash */
	{ 0, "EXIT" },
};

/* strtol over the whole of s (its leading blanks and sign included, as
 * strtol takes them): true with *n when nothing follows the number. */
static int whole_long(const char *s, long *n)
{
	char *end;
	*n = strtol(s, &end, 10);
	return end != s && !*end;
}

/* gnulib's str2signum: a number (up to SIGNUM_BOUND), a table name, or
 * RTMIN[+n] / RTMAX[-n] (n as strtol reads it, so "RTMIN 1" and
 * "RTMIN01" pass too).  -1 when none.  gnulib does not check that
 * strtol consumed anything after "RTMIN": "RTMIN" alone is n = 0. */
static int str2signum(const char *name)
{
	long n;
	char *end;
	if (*name >= '0' && *name <= '9') {
		n = strtol(name, &end, 10);
		return !*end && n <= CU_SIGNUM_BOUND ? (int)n : -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(numname_table); i++)
		if (!strcmp(numname_table[i].name, name))
			return numname_table[i].num;
	int rtmin = SIGRTMIN, rtmax = SIGRTMAX;
	if (0 < rtmin && !strncmp(name, "RTMIN", 5)) {
		n = strtol(name + 5, &end, 10);
		if (!*end && 0 <= n && n <= rtmax - rtmin)
			return rtmin + (int)n;
	} else if (0 < rtmax && !strncmp(name, "RTMAX", 5)) {
		n = strtol(name + 5, &end, 10);
		if (!*end && rtmin - rtmax <= n && n <= 0)
			return rtmax + (int)n;
	}
	return -1;
}

/* operand2sig's number: base 10 to the end, within int, then folded the
 * way shells report a death by signal (128+n, ksh's 256+n). */
static int number_operand(const char *s)
{
	long l;
	errno = 0;
	if (!whole_long(s, &l) || errno || l > INT_MAX || l < INT_MIN)
		return -1;
	int i = (int)l;
	return i & (i >= 0xFF ? 0xFF : 0x7F);
}

int cu_signal(const char *s)
{
	int saved = errno, sig;
	if (*s >= '0' && *s <= '9') {
		sig = number_operand(s);
	} else {
		/* upper-case a to z only, as the C locale does */
		char *up = xstrdup(s);
		for (char *p = up; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		sig = str2signum(up);
		if (sig < 0 && !strncmp(up, "SIG", 3))
			sig = str2signum(up + 3);
		free(up);
	}
	errno = saved;
	return sig < 0 || sig > CU_SIGNUM_BOUND ? -1 : sig;
}

const char *cu_signame(int sig, char buf[CU_SIGNAME_MAX])
{
	/* timeout prints 0 as a number, though sig2str would say EXIT */
	if (sig != 0)
		for (size_t i = 0; i < ARRAY_SIZE(numname_table); i++)
			if (numname_table[i].num == sig) {
				snprintf(buf, CU_SIGNAME_MAX, "%s", numname_table[i].name);
				return buf;
			}
	int rtmin = SIGRTMIN, rtmax = SIGRTMAX;
	if (sig == 0 || sig < rtmin || sig > rtmax) {
		snprintf(buf, CU_SIGNAME_MAX, "%d", sig);
		return buf;
	}
	/* sig2str: the lower half counts up from RTMIN, the rest down
	 * from RTMAX */
	int from_min = sig <= rtmin + (rtmax - rtmin) / 2;
	int delta = sig - (from_min ? rtmin : rtmax);
	if (delta)
		snprintf(buf, CU_SIGNAME_MAX, "%s%+d", from_min ? "RTMIN" : "RTMAX", delta);
	else
		snprintf(buf, CU_SIGNAME_MAX, "%s", from_min ? "RTMIN" : "RTMAX");
	return buf;
}

/* ------------------------------------------------------------ quoting */

/* quotearg_buffer_restyled with locale_quoting_style, no flags and no
 * extra characters, in the C locale: gettext_quote finds no translation
 * and no UTF-8, so both quotes are ASCII '; MB_CUR_MAX is 1, so each
 * byte stands alone and isprint() decides, which in the C locale is
 * true for 0x20..0x7e only.  The quote char (the right quote) and the
 * backslash get a backslash, the seven C escapes their letter, and any
 * other unprintable byte three octal digits.  No trigraph splitting:
 * quotearg does that for c_quoting_style with QA_SPLIT_TRIGRAPHS only. */
/* In a UTF-8 locale (the user's LC_CTYPE), a valid multibyte character
 * that is printable: its length, else 0. */
static size_t printable_mb(const char *p, locale_t u)
{
	locale_t old = uselocale(u);
	mbstate_t st;
	memset(&st, 0, sizeof st);
	wchar_t wc;
	size_t k = mbrtowc(&wc, p, MB_CUR_MAX, &st);
	bool ok = k != (size_t)-1 && k != (size_t)-2 && k > 0 && iswprint((wint_t)wc);
	uselocale(old);
	return ok ? k : 0;
}

char *cu_quote(const char *s)
{
	static const char cesc[] = "\a\b\f\n\r\t\v", cletter[] = "abfnrtv";
	/* gettext_quote: in a UTF-8 locale the quotes are U+2018 and U+2019
	 * and printable characters stay as they are; else ASCII ' both */
	locale_t u = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
	if (u && strcmp(nl_langinfo_l(CODESET, u), "UTF-8")) {
		freelocale(u);
		u = (locale_t)0;
	}
	const char *lq = u ? "\xe2\x80\x98" : "'", *rq = u ? "\xe2\x80\x99" : "'";
	struct buf b = { 0 };
	buf_addstr(&b, lq);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		const char *e = strchr(cesc, c);
		size_t mb;
		if (!strncmp(p, rq, strlen(rq)) || c == '\\') {
			/* the closing quote and backslash get a backslash */
			buf_addch(&b, '\\');
			buf_add(&b, p, c == '\\' ? 1 : strlen(rq));
			p += c == '\\' ? 0 : strlen(rq) - 1;
		} else if (e) {
			buf_addch(&b, '\\');
			buf_addch(&b, cletter[e - cesc]);
		} else if (u && c > 0x7e && (mb = printable_mb(p, u))) {
			buf_add(&b, p, mb);
			p += mb - 1;
		} else if (c < 0x20 || c > 0x7e) {
			buf_printf(&b, "\\%c%c%c", '0' + (c >> 6), '0' + ((c >> 3) & 7),
				   '0' + (c & 7));
		} else {
			buf_addch(&b, (char)c);
		}
	}
	buf_addstr(&b, rq);
	if (u)
		freelocale(u);
	return buf_detach(&b);
}
