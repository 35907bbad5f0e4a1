/* The results page: failures and deviations noted during the run, rendered as fixed text. */
#include "kernel/results.h"
#include "lib/glob.h"
#include "lib/lib.h"
#include "lib/printf.h"

/*
 * The headlines: the answers people boot racebed for, each the sum of the observations whose
 * experiment and name match its globs (host/racebed_harness/headlines.py has the same table).
 */
static const struct { const char *label, *experiment, *observation; } headline_rows[] = {
	{ "NMI inside the STI shadow", "sti_shadow_nmi", "nmi_in_shadow" },
	{ "IRQ after the NMI's IRET, before HLT", "sti_shadow_nmi", "irq_before_hlt_after_nmi" },
	{ "#DB after STI held by the shadow", "sti_single_step", "db_held_by_sti_shadow" },
	{ "MOV SS: #DB in the INT3 handler", "movss_db_next", "mk_int3_db_in_handler" },
	{ "NMI inside the MOV SS shadow", "movss_shadow_nmi", "event_in_movss_shadow" },
	{ "IRQ inside the MOV SS shadow", "movss_shadow_irq", "event_in_movss_shadow" },
	{ "Stale int3 run after a poke's sync", "poke_*", "stale_int3_after_sync" },
	{ "Broken call while poking", "poke_*", "broken_*" },
};
#define NHEADLINES ARRAY_SIZE(headline_rows)

static struct {
	u64 hits, trials;
	u32 seen;
	enum arch_verdict verdict;
	bool mixed;
} headlines[NHEADLINES];

static struct { char name[40]; char reason[100]; } failures[RESULTS_MAX_FAILURES];
static u32 nfailures; /* all noted, also those beyond the table */
static char deviations[RESULTS_MAX_DEVIATIONS][64];
static u32 ndeviations;

void results_note_failure(const char *name, const char *reason)
{
	u32 i = __atomic_fetch_add(&nfailures, 1, __ATOMIC_RELAXED);
	if (i >= RESULTS_MAX_FAILURES)
		return;
	ksnprintf(failures[i].name, sizeof(failures[i].name), "%s", name);
	ksnprintf(failures[i].reason, sizeof(failures[i].reason), "%s", reason ? reason : "");
}

void results_note_deviation(const char *experiment, const char *observation)
{
	u32 i = __atomic_fetch_add(&ndeviations, 1, __ATOMIC_RELAXED);
	if (i < RESULTS_MAX_DEVIATIONS)
		ksnprintf(deviations[i], sizeof(deviations[i]), "%s.%s", experiment, observation);
}

void results_note_observation(const char *experiment, const char *name, u64 hits, u64 trials,
			      enum arch_verdict v)
{
	for (u32 i = 0; i < NHEADLINES; i++) {
		if (!glob_match(headline_rows[i].experiment, experiment) ||
		    !glob_match(headline_rows[i].observation, name))
			continue;
		headlines[i].hits += hits;
		headlines[i].trials += trials;
		headlines[i].mixed |= headlines[i].seen && headlines[i].verdict != v;
		headlines[i].verdict = v;
		headlines[i].seen++;
	}
}

void results_reset(void)
{
	nfailures = ndeviations = 0;
	memset(headlines, 0, sizeof(headlines));
}

/* `LABEL: WORD HITS/TRIALS (architecture: VERDICT)`, with `(arch: ...)` when cols is short. */
static void headline_text(char *out, size_t len, u32 i, u32 cols)
{
	const char *verdict = headlines[i].mixed ? "mixed" : arch_verdict_name(headlines[i].verdict);
	for (u32 shorter = 0; shorter < 2; shorter++) {
		ksnprintf(out, len, "%s: %s %lu/%lu (%s: %s)", headline_rows[i].label,
			  arch_word(headlines[i].hits, headlines[i].trials), headlines[i].hits,
			  headlines[i].trials, shorter ? "arch" : "architecture", verdict);
		if (strlen(out) + 2 <= cols)
			return;
	}
}

struct page {
	char *out;
	size_t len, used;
	u32 cols, rows, lines;
};

/* Appends one line, cut at cols characters; false once the page is full. */
static bool PRINTF_FMT(2, 3) line(struct page *pg, const char *fmt, ...)
{
	char buf[320];
	va_list ap;
	if (pg->lines >= pg->rows)
		return false;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t n = MIN(strlen(buf), (size_t)pg->cols);
	if (pg->used + n + 2 > pg->len)
		return false;
	memcpy(pg->out + pg->used, buf, n);
	pg->used += n;
	pg->out[pg->used++] = '\n';
	pg->out[pg->used] = 0;
	pg->lines++;
	return true;
}

/* Shows entries 0..n-1 (kept of them in the table) in at most `lines` lines: a list that does not
 * fit ends with a "... and K more" line. */
static void list(struct page *pg, u32 n, u32 kept, u32 lines, const char *(*entry)(u32, char *, size_t))
{
	char buf[160];
	for (u32 i = 0; i < n && lines; i++) {
		if ((n - i > lines && lines == 1) || i >= kept) {
			line(pg, "  ... and %u more (see the serial log)", n - i);
			return;
		}
		line(pg, "  %s", entry(i, buf, sizeof(buf)));
		lines--;
	}
}

static const char *failure_entry(u32 i, char *buf, size_t len)
{
	ksnprintf(buf, len, "%s: %s", failures[i].name, failures[i].reason);
	return buf;
}

static const char *deviation_entry(u32 i, char *buf, size_t len)
{
	(void)buf, (void)len;
	return deviations[i];
}

/* The brand string with its spaces back (the fingerprint stores them as '_'). */
static void brand_text(char *out, size_t len, const char *brand)
{
	ksnprintf(out, len, "%s", brand[0] ? brand : "(not reported)");
	for (char *c = out; *c; c++)
		if (*c == '_')
			*c = ' ';
}

/* Lines that are always there: title, totals, blank, two list titles, the expectation note,
 * and the tail (blank, platform title and 3 lines, blank, next-steps title and 2 lines). A
 * compact page (a screen too short for them and a few list lines) keeps 8 of them: no blanks,
 * no note, no next steps. The answers add a title and one line per headline seen. */
#define FIXED_LINES 15
#define COMPACT_LINES 8
#define MIN_LIST_LINES 4

u32 results_render(char *out, size_t len, u32 cols, u32 rows, const struct results_totals *t,
		   const struct platform *p)
{
	struct page pg = { out, len, 0, cols, rows, 0 };
	if (len)
		out[0] = 0;
	u32 total = t->passed + t->failed + t->skipped;
	u32 answers = 0;
	for (u32 i = 0; i < NHEADLINES; i++)
		answers += headlines[i].seen != 0;
	u32 fixed = FIXED_LINES + (answers ? answers + 1 : 0);
	u32 want = MIN(nfailures + ndeviations, (u32)MIN_LIST_LINES);
	bool compact = rows < fixed + want;
	if (compact)
		fixed -= FIXED_LINES - COMPACT_LINES;

	line(&pg, "racebed results: %s", t->failed ? "FAILED" : "all passed");
	line(&pg, "Totals: pass:%u fail:%u skip:%u total:%u", t->passed, t->failed, t->skipped,
	     total);
	if (!compact)
		line(&pg, "%s", "");
	if (answers)
		line(&pg, "Answers (hits/trials on this machine; what the architecture says):");
	for (u32 i = 0; i < NHEADLINES; i++) {
		char buf[160];
		if (!headlines[i].seen)
			continue;
		headline_text(buf, sizeof(buf), i, cols);
		line(&pg, "  %s", buf);
	}

	/* the list lines left once every fixed line is counted, shared by failures and deviations */
	u32 avail = rows > fixed ? rows - fixed : 0;
	u32 dev_lines = MIN(ndeviations, avail / 2);
	u32 fail_lines = MIN(nfailures, avail - dev_lines);
	dev_lines = MIN(ndeviations, avail - fail_lines);
	line(&pg, "Failing tests (%u):%s", nfailures, nfailures ? "" : " none");
	list(&pg, nfailures, MIN(nfailures, (u32)RESULTS_MAX_FAILURES), fail_lines, failure_entry);
	line(&pg, "Observations that disagree with the architecture (%u):%s", ndeviations,
	     ndeviations ? "" : " none");
	list(&pg, ndeviations, MIN(ndeviations, (u32)RESULTS_MAX_DEVIATIONS), dev_lines,
	     deviation_entry);
	if (!compact)
		line(&pg, "  (against an expectation file: host/harness.py or tools/racebed-report "
			  "on the log)");

	char mc[16] = "unknown", brand[64];
	if (p->have_microcode)
		ksnprintf(mc, sizeof(mc), "0x%x", p->microcode);
	brand_text(brand, sizeof(brand), p->brand);
	if (!compact)
		line(&pg, "%s", "");
	line(&pg, "Platform:");
	line(&pg, "  CPU %s family 0x%x model 0x%x stepping %u, microcode %s", p->vendor, p->family,
	     p->model, p->stepping, mc);
	line(&pg, "  %s", brand);
	line(&pg, "  hypervisor %s, APIC %s, %u CPUs online, firmware %s", p->hypervisor,
	     p->apic_mode ? p->apic_mode : "?", p->cpus_online, p->firmware ? p->firmware : "?");
	if (compact)
		return pg.lines;
	line(&pg, "%s", "");
	line(&pg, "Next:");
	line(&pg, "  The full KTAP log is on the serial port (COM1 or the SPCR UART, 115200 8N1);");
	line(&pg, "  no port: the record's QR codes (graphics only) feed tools/racebed-report.");
	return pg.lines;
}
