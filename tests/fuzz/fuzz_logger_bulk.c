/*
 * fuzz_logger_bulk: the two parsers of eirc-logger that read bytes from
 * elsewhere. Byte 0 picks the target: even -> a _bulk response body for
 * lg_bulk_walk (byte 1 is the item count the request had); odd -> a spill
 * file body for lg_spill_parse, walked record by record, and each payload
 * through archive_event_decode (a decoded event must re-encode to the same
 * bytes). Neither may crash, read out of bounds or report more items than
 * asked.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "archive/archive_event.h"
#include "logger-bot/lg_bulk.h"
#include "logger-bot/lg_spill.h"

static size_t items_seen, items_max;

static void on_item(void *ud, size_t i, int status, enum lg_bulk_outcome o, const char *err)
{
	(void)ud, (void)status;
	CHECK(i == items_seen && i < items_max);
	CHECK(o == lg_bulk_classify(status));
	CHECK(strlen(err) <= LG_BULK_ERROR_MAX);
	items_seen++;
}

static void spill(const uint8_t *p, size_t len)
{
	static unsigned char again[ARCHIVE_EVENT_RECORD_MAX];

	while (len) {
		const void *payload;
		size_t plen, used;
		archive_event_t ev;
		if (lg_spill_parse(p, len, &payload, &plen, &used) < 0)
			return;
		CHECK(used == plen + LG_SPILL_RECORD_HEADER && used <= len);
		if (archive_event_decode(payload, plen, &ev) == 0) {
			int n = archive_event_encode(&ev, again, sizeof(again));
			CHECK(n == (int)plen && memcmp(again, payload, plen) == 0);
		}
		p += used;
		len -= used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] % 2 == 0) {
		items_seen = 0;
		items_max = data[1];
		int bad = lg_bulk_walk((const char *)data + 2, size - 2, data[1], on_item, NULL);
		CHECK(bad == -EBADMSG || (items_seen == items_max && (size_t)bad <= items_max));
	} else {
		spill(data + 1, size - 1);
	}
	return 0;
}
