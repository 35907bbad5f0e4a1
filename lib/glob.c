/* Shell-style glob matching ('*', '?', '[...]') over length-bounded patterns. */
#include "lib/glob.h"

/*
 * Matches c against the class starting at p[i] == '['. On success of parsing sets *next past the
 * closing ']' and returns whether c is in the class; returns -1 when the class is unterminated.
 */
static int class_match(const char *p, size_t plen, size_t i, char c, size_t *next)
{
	bool neg = false, hit = false;
	size_t j = i + 1;

	if (j < plen && (p[j] == '!' || p[j] == '^')) {
		neg = true;
		j++;
	}
	for (size_t first = j; j < plen; j++) {
		if (p[j] == ']' && j > first) {
			*next = j + 1;
			return hit != neg;
		}
		unsigned char lo = (unsigned char)p[j], hi = lo;
		if (j + 2 < plen && p[j + 1] == '-' && p[j + 2] != ']') {
			hi = (unsigned char)p[j + 2];
			j += 2;
		}
		if ((unsigned char)c >= lo && (unsigned char)c <= hi)
			hit = true;
	}
	return -1;
}

/* Does the single-character token at p[*i] match c? Advances *i past the token on a match. */
static bool token_match(const char *p, size_t plen, size_t *i, char c)
{
	size_t next = *i + 1;
	bool ok;

	if (p[*i] == '?') {
		ok = true;
	} else if (p[*i] == '[') {
		int r = class_match(p, plen, *i, c, &next);
		ok = r < 0 ? c == '[' : r == 1;
		if (r < 0)
			next = *i + 1;
	} else {
		ok = p[*i] == c;
	}
	if (ok)
		*i = next;
	return ok;
}

static bool match_n(const char *p, size_t plen, const char *name)
{
	size_t i = 0, n = 0, star_i = 0, star_n = 0;
	bool star = false;

	while (name[n]) {
		if (i < plen && p[i] == '*') {
			star = true;
			star_i = ++i;
			star_n = n;
		} else if (i < plen && token_match(p, plen, &i, name[n])) {
			n++;
		} else if (star) {
			i = star_i;
			n = ++star_n;
		} else {
			return false;
		}
	}
	while (i < plen && p[i] == '*')
		i++;
	return i == plen;
}

bool glob_match(const char *pattern, const char *name)
{
	size_t len = 0;

	while (pattern[len])
		len++;
	return match_n(pattern, len, name);
}

bool glob_list_match(const char *list, const char *name)
{
	const char *s = list;

	while (*s) {
		size_t len = 0;

		while (s[len] && s[len] != ',')
			len++;
		if (len && match_n(s, len, name))
			return true;
		s += len;
		if (*s == ',')
			s++;
	}
	return false;
}
