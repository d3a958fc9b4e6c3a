/*
 * testfile: a throwaway file with given content, for tests that hand a
 * path to the code under test (a config file, a bad config file).
 */
#ifndef EIRC_TESTS_TESTFILE_H
#define EIRC_TESTS_TESTFILE_H

/* Writes `content` to a new file /tmp/eirc-test-<tag>-XXXXXX and returns
 * its path (malloc'd: the caller unlinks and frees it). Aborts the test
 * run when the file cannot be written. */
char *tf_temp_file(const char *tag, const char *content);

#endif
