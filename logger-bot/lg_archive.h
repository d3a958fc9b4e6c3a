/*
 * lg_archive: the archive stream's maintenance script. Redis 7.0 has no
 * "trim only what was acknowledged" (XADD/XTRIM ACKED came later), so this
 * script computes the bound itself, atomically, on one archive stream:
 * for each consumer group, the smallest pending id (XPENDING) when it has
 * pending entries, else just past its last-delivered-id (XINFO GROUPS);
 * the minimum over all groups is the XTRIM MINID bound. A stream without
 * any group is never trimmed. Returns the number of entries trimmed.
 */
#ifndef EIRC_LOGGER_LG_ARCHIVE_H
#define EIRC_LOGGER_LG_ARCHIVE_H

extern const char lg_archive_trim_script[];

#endif
