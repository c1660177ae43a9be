/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svg.c - SVG elements with XML-escaped text (see svg.h). */
#include "config.h"
#include "svg.h"

#include <string.h>

/* The length of the UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
		   : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (!len || len > n || (len == 2 && s[0] < 0xC2))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	/* overlong 3- and 4-byte forms, surrogates, beyond U+10FFFF */
	if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
		return 0;
	if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || s[0] > 0xF4 ||
			 (s[0] == 0xF4 && s[1] >= 0x90)))
		return 0;
	return len;
}

void svg_escape(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	while (n) {
		size_t len = utf8_len(p, n);
		if (!len || (len == 1 && p[0] < 0x20 && p[0] != '\t' && p[0] != '\n' &&
			     p[0] != '\r')) {
			buf_addstr(b, "\xEF\xBF\xBD"); /* U+FFFD */
			len = 1;
		} else if (p[0] == '&') {
			buf_addstr(b, "&amp;");
		} else if (p[0] == '<') {
			buf_addstr(b, "&lt;");
		} else if (p[0] == '>') {
			buf_addstr(b, "&gt;");
		} else if (p[0] == '"') {
			buf_addstr(b, "&quot;");
		} else if (p[0] == '\'') {
			buf_addstr(b, "&apos;");
		} else {
			buf_add(b, p, len);
		}
		p += len;
		n -= len;
	}
}

void svg_begin(struct buf *b, double w, double h, const char *title, bool standalone)
{
	if (standalone)
		buf_addstr(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n<title>", w, h, w, h);
	svg_escape(b, title);
	buf_addstr(b, "</title>\n");
	buf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
		   w, h);
}

void svg_end(struct buf *b)
{
	buf_addstr(b, "</svg>\n");
}

void svg_rect(struct buf *b, double x, double y, double w, double h, const char *fill,
	      const char *stroke, const char *title)
{
	buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"",
		   x, y, w, h, fill ? fill : "none");
	if (!fill || stroke)
		buf_printf(b, " stroke=\"%s\" stroke-width=\"0.5\"", stroke ? stroke : "#999999");
	if (!title) {
		buf_addstr(b, "/>\n");
		return;
	}
	buf_addstr(b, "><title>");
	svg_escape(b, title);
	buf_addstr(b, "</title></rect>\n");
}

void svg_line(struct buf *b, double x1, double y1, double x2, double y2, const char *stroke)
{
	buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
		   "stroke-width=\"1\"/>\n", x1, y1, x2, y2, stroke);
}

void svg_text(struct buf *b, double x, double y, double size, const char *anchor,
	      const char *fill, const char *text)
{
	buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" text-anchor=\"%s\" "
		   "fill=\"%s\">", x, y, size, anchor, fill);
	svg_escape(b, text);
	buf_addstr(b, "</text>\n");
}
