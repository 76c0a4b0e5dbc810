/* A chain of stream filters (filter.h). */
#include "filter.h"
#include "tsarc/errors.h"

#include <string.h>

int tsarc_filter_chain_init(tsarc_filter_chain *c, const tsarc_filter *f, size_t n)
{
	memset(c, 0, sizeof(*c));
	if (n > TSARC_FILTERS_MAX)
		return tsarc_error_set(TSARC_EINVAL, "%zu stream filters, at most %d", n,
			TSARC_FILTERS_MAX);
	if (n)
		memcpy(c->f, f, n * sizeof(*f));
	c->n = n;
	return 0;
}

int tsarc_filter_chain_fresh(const tsarc_filter_chain *c, tsarc_filter_chain *out)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->owned = 1;
	for (i = 0; i < c->n; i++) {
		out->f[i].ops = c->f[i].ops;
		if ((rc = c->f[i].ops->fresh(c->f[i].self, &out->f[i].self))) {
			tsarc_filter_chain_dispose(out);
			return rc;
		}
		out->n = i + 1;
	}
	return 0;
}

/* data[0..len) through every stage; at the end (`end`), each stage gets
 * what the stages before let go at theirs, then ends itself. */
static int chain_run(tsarc_filter_chain *c, const uint8_t **data, size_t *len, int end)
{
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		tsarc_buf_clear(&c->out[i]);
		if (*len && (rc = c->f[i].ops->feed(c->f[i].self, *data, *len, &c->out[i])))
			return rc;
		if (end && (rc = c->f[i].ops->finish(c->f[i].self, &c->out[i])))
			return rc;
		*data = c->out[i].ptr;
		*len = c->out[i].size;
	}
	return 0;
}

int tsarc_filter_chain_piece(tsarc_filter_chain *c, const uint8_t **data, size_t *len)
{
	return chain_run(c, data, len, 0);
}

int tsarc_filter_chain_end(tsarc_filter_chain *c, const uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	return chain_run(c, data, len, 1);
}

void tsarc_filter_chain_dispose(tsarc_filter_chain *c)
{
	size_t i;

	for (i = 0; i < TSARC_FILTERS_MAX; i++)
		tsarc_buf_dispose(&c->out[i]);
	if (c->owned)
		for (i = 0; i < c->n; i++)
			if (c->f[i].self)
				c->f[i].ops->free(c->f[i].self);
	c->n = 0;
}
