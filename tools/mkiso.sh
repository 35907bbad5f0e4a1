#!/bin/bash
# mkiso.sh [--menu-timeout SECONDS] ELF OUT_ISO [ARGS...]
#
# --menu-timeout: how long the GRUB menu waits before booting the default
# entry (default 5; the test harness uses 0 where it does not pick an entry).
#
# Builds a hybrid BIOS + UEFI bootable ISO holding the racebed kernel ELF and a
# grub.cfg made from iso/grub.cfg.in (a menu of suites; ARGS make the default
# entry, titled with them).  The kernel command line is ARGS joined
# by spaces (it may be empty).  It is split into words at whitespace and each
# word is written to grub.cfg as one single-quoted GRUB word, so quotes, '$',
# ';' and the like cannot change the GRUB script.  GRUB joins the words with
# single spaces again; note that GRUB itself puts a backslash before every
# ' " and \ it hands to the kernel.
#
# Quiet on success; on failure prints a message (and grub-mkrescue's output)
# to stderr and exits non-zero.  The ISO is written to a temporary name and
# renamed, so OUT_ISO is never left half-written.
set -eu

prog=${0##*/}

die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

usage() {
	printf 'usage: %s [--menu-timeout SECONDS] ELF OUT_ISO [KERNEL_ARGS...]\n' "$prog" >&2
	exit 2
}

# grub_quote WORD: prints WORD as one single-quoted GRUB word.  Inside single
# quotes GRUB takes everything literally; a ' is written as '\'' (close the
# quote, an escaped quote, reopen).
grub_quote() {
	local q="'\\''"
	printf "'%s'" "${1//\'/$q}"
}

# grub_args ARGS...: prints the command line for grub.cfg.
grub_args() {
	local joined word out=""
	local IFS=' '
	joined="$*"
	case $joined in
	*[[:cntrl:]]*)
		# Tabs and newlines are plain separators; other control
		# characters have no business on a kernel command line.
		joined=${joined//[$'\t\n\r']/ }
		case $joined in
		*[[:cntrl:]]*) die "kernel arguments contain a control character" ;;
		esac
		;;
	esac
	set -f # no globbing while splitting into words
	for word in $joined; do
		out+="${out:+ }$(grub_quote "$word")"
	done
	set +f
	printf '%s' "$out"
}

# render_cfg TEMPLATE ARGS_TEXT TITLE_TEXT: prints TEMPLATE with @ARGS@ and
# @DEFAULT_TITLE@ replaced.  Plain string slicing, so no character of the
# replacements is special (unlike sed's & \ /).
render_cfg() {
	local template=$1 args=$2 title=$3 line found=0
	while IFS= read -r line || [ -n "$line" ]; do
		while [[ $line == *@ARGS@* ]]; do
			line="${line%%@ARGS@*}${args}${line#*@ARGS@}"
			found=1
		done
		line=${line//@TIMEOUT@/$menu_timeout}
		while [[ $line == *@DEFAULT_TITLE@* ]]; do
			line="${line%%@DEFAULT_TITLE@*}${title}${line#*@DEFAULT_TITLE@}"
		done
		printf '%s\n' "$line"
	done <"$template"
	[ "$found" = 1 ] || die "$template has no @ARGS@ marker"
}

# default_title ARGS...: the default menu entry's title, quoted for GRUB: "all
# experiments" without arguments, else the arguments themselves.
default_title() {
	local IFS=' '
	if [ -z "${*//[[:space:]]/}" ]; then
		grub_quote "all experiments"
	else
		grub_quote "default: $*"
	fi
}

check_tools() {
	local tool platform
	for tool in grub-mkrescue xorriso mformat; do
		command -v "$tool" >/dev/null 2>&1 ||
			die "$tool not found (install the grub-common, grub-pc-bin, grub-efi-amd64-bin, xorriso and mtools packages)"
	done
	for platform in i386-pc x86_64-efi; do
		[ -d "/usr/lib/grub/$platform" ] ||
			die "/usr/lib/grub/$platform is missing: the ISO would not boot under $platform (install grub-pc-bin and grub-efi-amd64-bin)"
	done
}

main() {
	if [ "${1:-}" = --menu-timeout ]; then
		[ $# -ge 2 ] || usage
		case $2 in
		'' | *[!0-9]*) die "--menu-timeout needs a number of seconds, not '$2'" ;;
		esac
		menu_timeout=$2
		shift 2
	fi
	[ $# -ge 2 ] || usage
	local elf=$1 out=$2
	shift 2

	local root_dir template
	root_dir=$(cd "$(dirname "$0")/.." && pwd)
	template=$root_dir/iso/grub.cfg.in

	[ -f "$elf" ] || die "kernel ELF '$elf' not found"
	[ -r "$elf" ] || die "kernel ELF '$elf' is not readable"
	[ -f "$template" ] || die "GRUB template '$template' not found"
	case $out in
	*/) die "OUT_ISO '$out' names a directory" ;;
	esac
	check_tools

	local out_dir
	out_dir=$(dirname "$out")
	mkdir -p "$out_dir" || die "cannot create directory '$out_dir'"

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/racebed-iso.XXXXXX") ||
		die "cannot create a temporary directory"
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local args_text
	args_text=$(grub_args "$@") # a plain assignment, so set -e sees failure
	mkdir -p "$tmp/root/boot/grub"
	cp "$elf" "$tmp/root/boot/racebed.elf"
	local title_text
	title_text=$(default_title "$@")
	render_cfg "$template" "$args_text" "$title_text" >"$tmp/root/boot/grub/grub.cfg"
	if command -v grub-script-check >/dev/null 2>&1; then
		grub-script-check "$tmp/root/boot/grub/grub.cfg" >"$tmp/check.log" 2>&1 || {
			cat "$tmp/check.log" >&2
			die "generated grub.cfg is not valid GRUB script"
		}
	fi

	if ! grub-mkrescue -o "$tmp/racebed.iso" "$tmp/root" >"$tmp/mkrescue.log" 2>&1; then
		printf '%s: grub-mkrescue output:\n' "$prog" >&2
		cat "$tmp/mkrescue.log" >&2
		die "grub-mkrescue failed"
	fi
	[ -s "$tmp/racebed.iso" ] || {
		cat "$tmp/mkrescue.log" >&2
		die "grub-mkrescue produced no ISO"
	}

	# Copy next to the destination first, then rename: atomic within out_dir.
	local partial="$out.partial.$$"
	cp "$tmp/racebed.iso" "$partial" || {
		rm -f "$partial"
		die "cannot write '$partial'"
	}
	mv -f "$partial" "$out" || {
		rm -f "$partial"
		die "cannot rename '$partial' to '$out'"
	}
}

tmp=
menu_timeout=5
main "$@"
