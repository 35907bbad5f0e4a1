/* kvsnprintf/ksnprintf: C99 snprintf subset (integers, chars, strings, pointers; no floats). */
#include "lib/printf.h"

#define INT_LIMIT 0x7fffffff

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };
enum len_mod { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_T, L_J };

struct out {
	char *buf;
	size_t size;
	size_t pos; /* length the output would have had so far */
};

struct spec {
	int flags;
	int width;
	int prec; /* -1 when not given */
	enum len_mod len;
	char conv;
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_n(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

static int clamp_int(long long v)
{
	return v > INT_LIMIT ? INT_LIMIT : (int)v;
}

static const char *parse_num(const char *f, int *val)
{
	long long v = 0;

	while (*f >= '0' && *f <= '9') {
		if (v <= INT_LIMIT)
			v = v * 10 + (*f - '0');
		f++;
	}
	*val = clamp_int(v);
	return f;
}

static const char *parse_flags(const char *f, int *flags)
{
	for (;; f++) {
		switch (*f) {
		case '-': *flags |= F_LEFT; break;
		case '0': *flags |= F_ZERO; break;
		case '+': *flags |= F_PLUS; break;
		case ' ': *flags |= F_SPACE; break;
		case '#': *flags |= F_ALT; break;
		default: return f;
		}
	}
}

static const char *parse_width(const char *f, struct spec *sp, va_list *ap)
{
	if (*f != '*')
		return parse_num(f, &sp->width);
	int w = va_arg(*ap, int);
	if (w < 0) {
		sp->flags |= F_LEFT;
		w = w == -INT_LIMIT - 1 ? INT_LIMIT : -w;
	}
	sp->width = w;
	return f + 1;
}

static const char *parse_prec(const char *f, struct spec *sp, va_list *ap)
{
	sp->prec = -1;
	if (*f != '.')
		return f;
	f++;
	if (*f != '*')
		return parse_num(f, &sp->prec);
	int p = va_arg(*ap, int);
	sp->prec = p < 0 ? -1 : p;
	return f + 1;
}

static const char *parse_len(const char *f, enum len_mod *len)
{
	*len = L_NONE;
	switch (*f) {
	case 'h':
		if (f[1] == 'h') { *len = L_HH; return f + 2; }
		*len = L_H;
		return f + 1;
	case 'l':
		if (f[1] == 'l') { *len = L_LL; return f + 2; }
		*len = L_L;
		return f + 1;
	case 'z': *len = L_Z; return f + 1;
	case 't': *len = L_T; return f + 1;
	case 'j': *len = L_J; return f + 1;
	default: return f;
	}
}

static s64 arg_signed(enum len_mod len, va_list *ap)
{
	switch (len) {
	case L_HH: return (signed char)va_arg(*ap, int);
	case L_H: return (short)va_arg(*ap, int);
	case L_L: return va_arg(*ap, long);
	case L_LL: return va_arg(*ap, long long);
	case L_Z: return (s64)va_arg(*ap, size_t);
	case L_T: return va_arg(*ap, ptrdiff_t);
	case L_J: return va_arg(*ap, intmax_t);
	default: return va_arg(*ap, int);
	}
}

static u64 arg_unsigned(enum len_mod len, va_list *ap)
{
	switch (len) {
	case L_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case L_H: return (unsigned short)va_arg(*ap, unsigned int);
	case L_L: return va_arg(*ap, unsigned long);
	case L_LL: return va_arg(*ap, unsigned long long);
	case L_Z: return va_arg(*ap, size_t);
	case L_T: return (u64)va_arg(*ap, ptrdiff_t);
	case L_J: return va_arg(*ap, uintmax_t);
	default: return va_arg(*ap, unsigned int);
	}
}

/* Writes digits of v in base into the end of tmp; returns the count. */
static int to_digits(u64 v, unsigned base, bool upper, char *tmp, int cap)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;

	while (v && n < cap) {
		tmp[cap - 1 - n++] = dig[v % base];
		v /= base;
	}
	return n;
}

static unsigned conv_base(char conv)
{
	if (conv == 'o')
		return 8;
	return conv == 'x' || conv == 'X' || conv == 'p' ? 16 : 10;
}

static void emit_number(struct out *o, const struct spec *sp, u64 mag, const char *prefix)
{
	char tmp[24];
	int nd = to_digits(mag, conv_base(sp->conv), sp->conv == 'X', tmp, sizeof(tmp));
	int prec = sp->prec < 0 ? 1 : sp->prec;
	int plen = 0;

	while (prefix[plen])
		plen++;
	if (sp->conv == 'o' && (sp->flags & F_ALT) && prec <= nd)
		prec = nd + 1; /* force a leading zero */
	int zeros = prec > nd ? prec - nd : 0;
	int pad = sp->width - plen - zeros - nd;
	bool zpad = (sp->flags & F_ZERO) && !(sp->flags & F_LEFT) && sp->prec < 0;

	if (!(sp->flags & F_LEFT) && !zpad)
		put_n(o, ' ', pad);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	if (zpad)
		put_n(o, '0', pad);
	put_n(o, '0', zeros);
	for (int i = sizeof(tmp) - nd; i < (int)sizeof(tmp); i++)
		put(o, tmp[i]);
	if (sp->flags & F_LEFT)
		put_n(o, ' ', pad);
}

static void emit_signed(struct out *o, const struct spec *sp, va_list *ap)
{
	s64 v = arg_signed(sp->len, ap);
	u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;
	const char *prefix = "";

	if (v < 0)
		prefix = "-";
	else if (sp->flags & F_PLUS)
		prefix = "+";
	else if (sp->flags & F_SPACE)
		prefix = " ";
	emit_number(o, sp, mag, prefix);
}

static void emit_unsigned(struct out *o, const struct spec *sp, va_list *ap)
{
	u64 v = arg_unsigned(sp->len, ap);
	const char *prefix = "";

	if ((sp->flags & F_ALT) && v && sp->conv != 'u' && sp->conv != 'o')
		prefix = sp->conv == 'X' ? "0X" : "0x";
	emit_number(o, sp, v, prefix);
}

static void emit_pointer(struct out *o, struct spec *sp, va_list *ap)
{
	u64 v = (u64)(uintptr_t)va_arg(*ap, void *);

	sp->flags &= ~(F_PLUS | F_SPACE);
	emit_number(o, sp, v, "0x");
}

static void emit_chars(struct out *o, const struct spec *sp, const char *s, int n)
{
	int pad = sp->width - n;

	if (!(sp->flags & F_LEFT))
		put_n(o, ' ', pad);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->flags & F_LEFT)
		put_n(o, ' ', pad);
}

static void emit_string(struct out *o, const struct spec *sp, va_list *ap)
{
	const char *s = va_arg(*ap, const char *);
	int n = 0;

	if (!s)
		s = "(null)";
	while ((sp->prec < 0 || n < sp->prec) && n < INT_LIMIT && s[n])
		n++;
	emit_chars(o, sp, s, n);
}

static void emit_conv(struct out *o, struct spec *sp, va_list *ap)
{
	char c;

	switch (sp->conv) {
	case 'd': case 'i': emit_signed(o, sp, ap); break;
	case 'u': case 'x': case 'X': case 'o': emit_unsigned(o, sp, ap); break;
	case 'p': emit_pointer(o, sp, ap); break;
	case 's': emit_string(o, sp, ap); break;
	case 'c':
		c = (char)va_arg(*ap, int);
		emit_chars(o, sp, &c, 1);
		break;
	case '%': put(o, '%'); break;
	default: /* unknown conversion: show it verbatim */
		put(o, '%');
		put(o, sp->conv);
		break;
	}
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	struct spec sp;
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		sp.flags = 0;
		fmt = parse_flags(fmt + 1, &sp.flags);
		fmt = parse_width(fmt, &sp, &aq);
		fmt = parse_prec(fmt, &sp, &aq);
		fmt = parse_len(fmt, &sp.len);
		if (!*fmt) {
			put(&o, '%'); /* dangling '%' at the end */
			break;
		}
		sp.conv = *fmt++;
		emit_conv(&o, &sp, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return o.pos > INT_LIMIT ? INT_LIMIT : (int)o.pos;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
