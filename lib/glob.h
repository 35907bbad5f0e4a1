/* Shell-style name matching for tests= and skip=. */
#ifndef RACEBED_GLOB_H
#define RACEBED_GLOB_H

#include "lib/types.h"

/* '*' any run, '?' one character, '[abc]' / '[a-z]' / '[!a]' a class; everything else literal. */
bool glob_match(const char *pattern, const char *name);
/* list is comma-separated patterns; true when any matches. An empty list matches nothing. */
bool glob_list_match(const char *list, const char *name);

#endif
