/*
 * m_eirc_reveal: an InspIRCd 3 module, shipped and loaded by eIRC, that
 * lets any member of a channel unset its secret mode (-s), without channel
 * operator rank, and says so in 005 (EIRCREVEAL).
 *
 * Why: eIRC makes every channel secret from its creation (<options
 * defaultmodes> with "s"), so a private room is never visible to anyone
 * outside it, and the irc-client of a user who may see a public room makes
 * it visible (docs/irc-client.md, "Private rooms are invisible"). Without
 * this module only the channel's creator (its operator) can do that, and a
 * public room created by someone who does not know it is public (the logger
 * bot, joining its configured channels before any user) stays secret.
 *
 * What: OnRawMode allows "-s" from a local user who is on the channel; every
 * other mode change, and "+s", keeps InspIRCd's own checks. Setting +s is
 * never needed (channels are born secret), and a browser can send neither:
 * the irc-client refuses MODE lines that change s or p, so only the
 * irc-client's own decision (the room is public for its user) reaches this.
 * A plain client on the IRC port is outside eIRC's policy anyway (it may
 * JOIN any channel).
 *
 * Build and load: as m_eirc_fastregister (see its comment and
 * config/CMakeLists.txt), with -DMODNAME=\"m_eirc_reveal\", and
 *   <module name="eirc_reveal">
 */

#include "inspircd.h"

class ModuleEircReveal : public Module
{
	ChanModeReference secret;

 public:
	ModuleEircReveal()
		: secret(this, "secret")
	{
	}

	ModResult OnRawMode(User* user, Channel* chan, ModeHandler* mh, const std::string& param, bool adding) CXX11_OVERRIDE
	{
		if (!chan || adding || mh != *secret || !IS_LOCAL(user) || !chan->HasUser(user))
			return MOD_RES_PASSTHRU;
		return MOD_RES_ALLOW;
	}

	void On005Numeric(std::map<std::string, std::string>& tokens) CXX11_OVERRIDE
	{
		tokens["EIRCREVEAL"];
	}

	Version GetVersion() CXX11_OVERRIDE
	{
		return Version("eIRC: any member of a channel may unset its secret mode (-s), so the irc-client can make a public room visible", VF_NONE);
	}
};

MODULE_INIT(ModuleEircReveal)
