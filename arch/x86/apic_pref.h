/* The local APIC mode asked for (apic= on the command line). */
#ifndef RACEBED_APIC_PREF_H
#define RACEBED_APIC_PREF_H

enum apic_pref { APIC_AUTO, APIC_FORCE_XAPIC, APIC_FORCE_X2APIC };

#endif
