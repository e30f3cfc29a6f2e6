/* This file contains the squarified treemap layout of "imgfs report --svg"
 * (Bruls, Huizing and van Wijk, 2000): rows laid along the shorter side,
 * a row grown while that does not make its worst aspect ratio worse.  The
 * page's script (report.js) lays out the same way for its zoomed views. */
#include "report_i.h"

/* The worst aspect ratio of a row of areas summing to S, largest BIG and
 * smallest SMALL, laid along a side of length SIDE. */
static double worst(double s, double big, double small, double side)
{
	double s2 = s * s, l2 = side * side;
	double a = l2 * big / s2, b = s2 / (l2 * small);

	return a > b ? a : b;
}

void report_squarify(const double *v, size_t n, double x, double y, double w, double h,
		     double (*out)[4])
{
	double sum = 0, scale;
	size_t i = 0, j, k;

	for (k = 0; k < n; k++)
		sum += v[k];
	if (n == 0 || sum <= 0 || w <= 0 || h <= 0)
		return;
	scale = w * h / sum;
	while (i < n) {
		double side = w < h ? w : h, row = 0, best = 0, thick, pos;

		for (j = i; j < n; j++) {
			double s = row + v[j] * scale, r = worst(s, v[i] * scale, v[j] * scale, side);

			if (j > i && r > best)
				break;
			best = r;
			row = s;
		}
		/* the last row takes what is left, so float drift cannot
		 * leave a sliver or spill over the edge */
		if (j == n)
			row = w * h;
		if (w >= h) {
			thick = row / h;
			if (j == n)
				thick = w;
			for (pos = y, k = i; k < j; k++) {
				double len = v[k] * scale / thick;

				if (k + 1 == j)
					len = y + h - pos;
				out[k][0] = x, out[k][1] = pos, out[k][2] = thick, out[k][3] = len;
				pos += len;
			}
			x += thick;
			w -= thick;
		} else {
			thick = row / w;
			if (j == n)
				thick = h;
			for (pos = x, k = i; k < j; k++) {
				double len = v[k] * scale / thick;

				if (k + 1 == j)
					len = x + w - pos;
				out[k][0] = pos, out[k][1] = y, out[k][2] = len, out[k][3] = thick;
				pos += len;
			}
			y += thick;
			h -= thick;
		}
		i = j;
	}
}
