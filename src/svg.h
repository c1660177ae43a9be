/* SPDX-License-Identifier: GPL-3.0-or-later */
/* svg.h - a few SVG elements written into a buffer, every text escaped
 * for XML (`piperun timeline`).  Coordinates in px, colours as CSS
 * text ("#4caf50"). */
#ifndef PIPERUN_SVG_H
#define PIPERUN_SVG_H

#include "util.h"

/* s as XML character data or an attribute value: & < > " ' as
 * entities, the C0 controls XML 1.0 does not allow (all but tab, LF,
 * CR) and bytes that are no UTF-8 as U+FFFD. */
void svg_escape(struct buf *b, const char *s);

/* The document's start (an XML declaration when standalone: not inside
 * HTML), its <title> (title), and a white background. */
void svg_begin(struct buf *b, double w, double h, const char *title, bool standalone);
void svg_end(struct buf *b);
/* A rectangle; fill NULL: none (a grey outline); stroke NULL: no
 * outline; title NULL: no tooltip. */
void svg_rect(struct buf *b, double x, double y, double w, double h, const char *fill,
	      const char *stroke, const char *title);
void svg_line(struct buf *b, double x1, double y1, double x2, double y2, const char *stroke);
/* Text at (x, y): anchor "start", "middle" or "end". */
void svg_text(struct buf *b, double x, double y, double size, const char *anchor,
	      const char *fill, const char *text);

#endif
