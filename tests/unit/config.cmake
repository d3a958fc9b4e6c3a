# Unit tests of config/: the loader's errors and limits, units, and the
# committed files (config/eirc.yaml loads, docs/configuration.md is current).
eirc_test(test_config SOURCES unit/test_config.c LIBS eirc_config)
eirc_test(test_config_units SOURCES unit/test_config_units.c LIBS eirc_config)
eirc_test(test_config_files SOURCES unit/test_config_files.c LIBS eirc_config eirc_testlib)
