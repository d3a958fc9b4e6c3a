/*
 * capture: what m_eirc_capture (config/inspircd/m_eirc_capture.cpp, C++)
 * and eirc-logger (logger-bot/, C) agree on. Header only: included by both.
 */
#ifndef EIRC_COMMON_CAPTURE_H
#define EIRC_COMMON_CAPTURE_H

/* The reason of the PART by which m_eirc_capture takes a capture bot out of
 * a channel no one but capture bots is in any more: the channel's end (it
 * then disappears as in stock InspIRCd). Only the module can part a capture
 * bot (its own PART is refused), so eirc-logger takes its own PART with this
 * reason for the channel's end: no gap, no rejoin. */
#define EIRC_CAPTURE_CLOSED_REASON "eIRC: channel closed, no members"

#endif
