#ifndef TSARC_GROW_H
#define TSARC_GROW_H

/*
 * Room for one more element of an array that grows by doubling. Twenty
 * places kept a list (names from a listing, index records, pack entries,
 * locks...) with the same seven lines of realloc; they are one function,
 * so that the overflow check and the error are the same everywhere.
 */
#include <stddef.h>

/* Nothing when n < *cap; else the array at *arrp (the address of the
 * array's pointer) grows to twice *cap, `first` elements of `elem` bytes
 * the first time. TSARC_ENOMEM (message set) when it cannot: the array
 * and *cap are then as they were. Call it through TSARC_RESERVE. */
int tsarc_reserve(void *arrp, size_t n, size_t *cap, size_t elem, size_t first);

#define TSARC_RESERVE(arr, n, cap, first) \
	tsarc_reserve(&(arr), (n), &(cap), sizeof(*(arr)), (first))

/* A string array that grows through tsarc_strv_push. */
typedef struct tsarc_strv {
	char **v;
	size_t n, cap;
} tsarc_strv;

/* A copy of `s` appended to the string array *v of *n (growing it as
 * above): names gathered from a listing or an archive. On failure *v,
 * *n and *cap are as they were, and `s` is not kept. */
int tsarc_strv_push(char ***v, size_t *n, size_t *cap, size_t first, const char *s);

#endif
