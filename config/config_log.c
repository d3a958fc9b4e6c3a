/*
 * config_log: applies the `log` section to common/log. One place for the
 * mapping, so every daemon's main.c says only which program it is.
 */
#include "config/config.h"

#include "common/log.h"

void eirc_config_log_setup(const eirc_config_t *cfg, const char *prog)
{
	static const log_level_t levels[] = {
		[EIRC_CONFIG_LOG_DEBUG] = LOG_DEBUG,
		[EIRC_CONFIG_LOG_INFO] = LOG_INFO,
		[EIRC_CONFIG_LOG_WARN] = LOG_WARN,
		[EIRC_CONFIG_LOG_ERROR] = LOG_ERROR,
	};

	log_setup(prog, levels[cfg->log.level],
		  cfg->log.format == EIRC_CONFIG_LOG_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT, 2);
}
