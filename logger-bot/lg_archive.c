/*
 * lg_archive: the acknowledged-only trimming script (see lg_archive.h).
 */
#include "logger-bot/lg_archive.h"

const char lg_archive_trim_script[] =
	"local groups = redis.call('XINFO', 'GROUPS', KEYS[1])\n"
	"if #groups == 0 then return 0 end\n"
	"local function parse(id)\n"
	"  local ms, seq = string.match(id, '^(%d+)-(%d+)$')\n"
	"  return tonumber(ms), tonumber(seq)\n"
	"end\n"
	"local function less(a, b)\n"
	"  local am, as = parse(a)\n"
	"  local bm, bs = parse(b)\n"
	"  return am < bm or (am == bm and as < bs)\n"
	"end\n"
	"local bound = nil\n"
	"for _, g in ipairs(groups) do\n"
	"  local f = {}\n"
	"  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"
	"  local b\n"
	"  if tonumber(f['pending']) > 0 then\n"
	"    b = redis.call('XPENDING', KEYS[1], f['name'])[2]\n"
	"  else\n"
	"    local ms, seq = parse(f['last-delivered-id'])\n"
	"    b = string.format('%d-%d', ms, seq + 1)\n"
	"  end\n"
	"  if bound == nil or less(b, bound) then bound = b end\n"
	"end\n"
	"return redis.call('XTRIM', KEYS[1], 'MINID', bound)\n";
