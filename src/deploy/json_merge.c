/* A configuration merged over its profile: objects key by key. */
#include "component.h"
#include "tsarc/errors.h"

int tsarc_json_merge(cJSON *base, const cJSON *over)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, over) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(base, item->string);
		cJSON *copy;
		if (cJSON_IsObject(cur) && cJSON_IsObject(item)) {
			if (tsarc_json_merge(cur, item))
				return TSARC_ENOMEM;
			continue;
		}
		if (!(copy = cJSON_Duplicate(item, 1)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		if (cur)
			cJSON_ReplaceItemViaPointer(base, cur, copy);
		else if (!cJSON_AddItemToObject(base, item->string, copy))
			cJSON_Delete(copy); /* an array's items have no name to add under */
	}
	return 0;
}
