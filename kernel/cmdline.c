/* Kernel command line parser: space-separated key=value words into struct cmdline. */
#include "kernel/cmdline.h"
#include "lib/lib.h"
#include "lib/printf.h"

#define U32_MAX 0xffffffffull

/* One word being parsed: key (before '='), value (after it) and the whole word for messages. */
struct word {
	const char *text;
	size_t len;
	size_t klen;
	const char *val; /* NULL when the word has no '=' */
	size_t vlen;
	char *err;
	size_t errlen;
};

enum num_res { NUM_OK, NUM_BAD, NUM_RANGE };

static enum num_res parse_u64(const char *s, size_t len, u64 *out)
{
	bool hex = len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	bool over = false;
	u64 v = 0;

	if (len == 0)
		return NUM_BAD;
	for (size_t i = hex ? 2 : 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (hex && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (hex && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return NUM_BAD;
		if (hex ? (v >> 60) != 0 : v > (~0ull - d) / 10)
			over = true;
		v = v * (hex ? 16 : 10) + d;
	}
	*out = v;
	return over ? NUM_RANGE : NUM_OK;
}

static int fail(struct word *w, const char *what)
{
	ksnprintf(w->err, w->errlen, "%s '%.*s'", what, (int)w->len, w->text);
	return -1;
}

/* Parses the value as a number in [min, max]; *out is left alone on error. */
static int get_num(struct word *w, u64 min, u64 max, u64 *out)
{
	u64 v;
	enum num_res r = parse_u64(w->val, w->vlen, &v);

	if (r == NUM_BAD)
		return fail(w, "malformed number");
	if (r == NUM_RANGE || v > max)
		return fail(w, "number out of range");
	if (v < min) {
		ksnprintf(w->err, w->errlen, "'%.*s' must be at least %llu", (int)w->len, w->text,
			  (unsigned long long)min);
		return -1;
	}
	*out = v;
	return 0;
}

static bool val_is(const struct word *w, const char *s)
{
	size_t n = strlen(s);

	return w->vlen == n && memcmp(w->val, s, n) == 0;
}

/* Matches the value against names[]; on a miss reports the allowed choices. */
static int get_choice(struct word *w, const char *const *names, int count, const char *choices)
{
	for (int i = 0; i < count; i++) {
		if (val_is(w, names[i]))
			return i;
	}
	ksnprintf(w->err, w->errlen, "'%.*s=' wants %s, got '%.*s'", (int)w->klen, w->text, choices,
		  (int)w->vlen, w->val);
	return -1;
}

static int set_str(struct word *w, char *dst, size_t cap)
{
	if (w->vlen >= cap) {
		ksnprintf(w->err, w->errlen, "value too long for '%.*s='", (int)w->klen, w->text);
		return -1;
	}
	memcpy(dst, w->val, w->vlen);
	dst[w->vlen] = '\0';
	return 0;
}

static int set_u32(struct word *w, u32 *dst)
{
	u64 v;

	if (get_num(w, 1, U32_MAX, &v))
		return -1;
	*dst = (u32)v;
	return 0;
}

static const char *const apic_names[] = { "auto", "xapic", "x2apic" };
static const char *const console_names[] = { "both", "serial", "fb" };
static const char *const exit_names[] = { "qemu", "halt", "reboot", "poweroff" }; /* from EXIT_QEMU on */
static const char *const poke_names[] = { "emulate", "rollback", "spin" }; /* bit i */

/* poke=NAME[,NAME...]: each NAME one of poke_names, none empty. */
static int set_poke(struct word *w, u32 *dst)
{
	u32 bits = 0;
	size_t i = 0;

	while (i <= w->vlen) {
		size_t j = i;
		int k = -1;

		while (j < w->vlen && w->val[j] != ',')
			j++;
		for (int n = 0; n < (int)ARRAY_SIZE(poke_names); n++)
			if (strlen(poke_names[n]) == j - i && !memcmp(poke_names[n], w->val + i, j - i))
				k = n;
		if (k < 0) {
			ksnprintf(w->err, w->errlen, "'poke=' wants emulate, rollback or spin "
				  "(comma-separated), got '%.*s'", (int)w->vlen, w->val);
			return -1;
		}
		bits |= 1u << k;
		i = j + 1;
	}
	*dst = bits;
	return 0;
}

static int apply_value(struct word *w, const char *key, struct cmdline *c)
{
	int e;

	if (!strcmp(key, "tests"))
		return set_str(w, c->tests, sizeof(c->tests));
	if (!strcmp(key, "skip"))
		return set_str(w, c->skip, sizeof(c->skip));
	if (!strcmp(key, "iterations"))
		return get_num(w, 0, ~0ull, &c->iterations);
	if (!strcmp(key, "seed"))
		return get_num(w, 0, ~0ull, &c->seed);
	if (!strcmp(key, "timeout"))
		return set_u32(w, &c->timeout_s);
	if (!strcmp(key, "cpus"))
		return set_u32(w, &c->cpus);
	if (!strcmp(key, "apic")) {
		if ((e = get_choice(w, apic_names, 3, "auto, xapic or x2apic")) < 0)
			return -1;
		c->apic = (enum apic_pref)e;
		return 0;
	}
	if (!strcmp(key, "clock")) {
		if ((e = get_choice(w, clock_pref_names, CLOCK_PREFS,
				    "auto, pmtimer, hpet or pit")) < 0)
			return -1;
		c->clock = (enum clock_pref)e;
		return 0;
	}
	if (!strcmp(key, "console")) {
		if ((e = get_choice(w, console_names, 3, "serial, fb or both")) < 0)
			return -1;
		c->console = (enum console_mode)e;
		return 0;
	}
	if (!strcmp(key, "poke"))
		return set_poke(w, &c->poke);
	/* the only key left is exit= */
	if ((e = get_choice(w, exit_names, 4, "qemu, halt, reboot or poweroff")) < 0)
		return -1;
	c->exit = (enum exit_mode)(EXIT_QEMU + e);
	return 0;
}

static const char *const value_keys[] = { "tests", "skip",  "iterations", "seed", "timeout", "cpus",
					  "apic",  "clock", "console",    "exit", "poke" };
static const char *const flag_keys[] = { "nosmp", "list", "bench" };

/* Finds key among names; returns its index or -1. */
static int find_key(const struct word *w, const char *const *names, int count)
{
	for (int i = 0; i < count; i++) {
		if (strlen(names[i]) == w->klen && !memcmp(names[i], w->text, w->klen))
			return i;
	}
	return -1;
}

static int apply_flag(struct word *w, int idx, struct cmdline *c)
{
	if (w->val) {
		ksnprintf(w->err, w->errlen, "'%.*s' takes no value", (int)w->klen, w->text);
		return -1;
	}
	if (idx == 0)
		c->nosmp = true;
	else if (idx == 1)
		c->list = true;
	else
		c->bench = true;
	return 0;
}

static int apply_word(struct word *w, struct cmdline *c)
{
	int idx = find_key(w, flag_keys, ARRAY_SIZE(flag_keys));

	if (idx >= 0)
		return apply_flag(w, idx, c);
	idx = find_key(w, value_keys, ARRAY_SIZE(value_keys));
	if (idx < 0) {
		ksnprintf(w->err, w->errlen, "unknown key '%.*s'", (int)w->klen, w->text);
		return -1;
	}
	if (!w->val) {
		ksnprintf(w->err, w->errlen, "'%.*s' needs a value", (int)w->klen, w->text);
		return -1;
	}
	return apply_value(w, value_keys[idx], c);
}

static void split_word(struct word *w, const char *s, size_t len)
{
	w->text = s;
	w->len = len;
	w->klen = 0;
	while (w->klen < len && s[w->klen] != '=')
		w->klen++;
	w->val = w->klen < len ? s + w->klen + 1 : NULL;
	w->vlen = w->val ? len - w->klen - 1 : 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static const struct cmdline *active;

const struct cmdline *cmdline_active(void) { return active; }

int cmdline_parse(const char *s, struct cmdline *out, char *err, size_t errlen)
{
	struct word w = { .err = err, .errlen = errlen };

	memset(out, 0, sizeof(*out));
	out->seed = 1;
	if (errlen)
		err[0] = '\0';
	while (*s) {
		size_t len = 0;

		while (is_space(*s))
			s++;
		while (s[len] && !is_space(s[len]))
			len++;
		if (!len)
			break;
		split_word(&w, s, len);
		if (apply_word(&w, out))
			return -1;
		s += len;
	}
	active = out;
	return 0;
}
