/*
 * m_eirc_capture: an InspIRCd 3 module, shipped and loaded by eIRC, that
 * makes every message of the network reach a capture bot (eirc-logger), so
 * that nothing anyone sends escapes the archive.
 *
 * A capture bot is a local user whose connect class has eirccapture="yes"
 * (docs/logger.md: the logger sends PASS to get that class). Every server
 * knows every capture bot: the user metadata "eirc_capture" (value "1") is
 * set before the bot is introduced to the network and synced with it.
 *
 * What the module does:
 *   - joins every local capture bot into every channel, with override (bans,
 *     keys, limits, invite-only and the class's maxchans do not stop it): at
 *     its registration into all that exist, and into each channel the moment
 *     it gets its first member on this server (a local JOIN creating it, a
 *     remote FJOIN, a netburst), synchronously, before any message can be
 *     sent to it;
 *   - a channel lives only while someone other than a capture bot is in it:
 *     once the last other member is gone (PART, KICK, QUIT, a netsplit),
 *     each server parts its own capture bots from it with the reason
 *     EIRC_CAPTURE_CLOSED_REASON (common/capture.h), so that it ends as in
 *     stock InspIRCd (its modes, bans, key and topic go with it; the next
 *     JOIN creates it anew and makes the joiner its operator). This is done
 *     after InspIRCd has finished removing the member (the removal hooks run
 *     while it iterates memberships): at the end of the main loop's pass
 *     (AtomicActions), or before the next command of a local user, whichever
 *     comes first;
 *   - a capture bot never creates a channel nor keeps one alive: its own
 *     JOIN joins it (with override) into the listed channels that exist and
 *     hold someone else, and is otherwise refused without a reply; a channel
 *     that only capture bots are in (a remote bot's join crossing a
 *     channel's end) gets no local bot. So the channels a bot is in are the
 *     channels its users hold: no limit of its own (maxchans does not apply
 *     to an override join; the users' maxchans bound them);
 *   - refuses KICK, SAKICK, REMOVE, FPART, SAPART and KILL of a capture bot
 *     (484 / 485 to whoever tried) and a capture bot's own PART (only the
 *     channel's end parts it);
 *   - STATUSMSG and every other channel message the server delivers only to
 *     some members: each local capture bot member it did not reach gets a
 *     copy with the same target ("@#c") and tags;
 *   - direct messages: every PRIVMSG / NOTICE / TAGMSG from a local user to
 *     another user (not a capture bot) is copied to one local capture bot
 *     (the first that is not away; the first of all when every one is),
 *     exactly as the receiver sees it, plus the tag
 *     eirc/to-uid=<receiver's account id> when it has one;
 *   - <eirccapture require="yes">: a message from a local user to a channel
 *     with no archiving (not away) capture bot member, or to a user while
 *     this server has no local archiving capture bot, is refused with
 *     404 <target> :Cannot send: nothing is archiving it (ARCHIVE_UNAVAILABLE)
 *     and delivered to nobody.
 * On a linked network every channel message is also sent to each linked
 * server while a capture bot is on another server (the spanning tree
 * otherwise sends it only where it has a receiver): the bot there may have
 * joined a moment ago, and its join may still be on its way to us.
 *
 * What it is not: it neither reads nor stores messages (the logger does);
 * it does not authenticate anyone (m_eirc_account does).
 *
 * Build and load: as m_eirc_fastregister.cpp says (config/CMakeLists.txt),
 *   <module name="eirc_capture"> <eirccapture require="no">
 */

#include "inspircd.h"
#include "modules/account.h"
#include "modules/ctctags.h"
#include "modules/server.h"

#include <set>
#include <vector>

#include "common/capture.h"

/* Not in InspIRCd 3's numerics.h (m_servprotect has its own too). */
enum { ERR_KILLDENY = 485 };

/* The network-synced mark of a capture bot. Counts the users that carry it
 * (local and remote), so that the module knows whether a capture bot is
 * on another server. */
class CaptureMark : public StringExtItem
{
      public:
	size_t count;

	CaptureMark(Module *mod)
	    : StringExtItem("eirc_capture", ExtensionItem::EXT_USER, mod), count(0)
	{
	}

	/* The value is always "1": a user already marked stays as it is (set()
	 * would free the old value and count it out). */
	void Mark(Extensible *container)
	{
		if (get(container))
			return;
		set(container, "1");
		count++;
	}

	void FromNetwork(Extensible *container, const std::string &value) CXX11_OVERRIDE
	{
		if (value.empty()) {
			unset(container);
			return;
		}
		Mark(container);
	}

	/* Called by unset() and when the user goes away; by set() only with
	 * NULL here. */
	void free(Extensible *container, void *item) CXX11_OVERRIDE
	{
		if (item)
			count--;
		StringExtItem::free(container, item);
	}
};

/* eirc/to-uid: the receiver's account id on a direct message's copy; only
 * capture bots get it, and a client cannot send it (no provider accepts
 * it from a client, so InspIRCd drops it). */
class ToUidTag : public ClientProtocol::MessageTagProvider
{
	CaptureMark &mark;

      public:
	ToUidTag(Module *mod, CaptureMark &m) : ClientProtocol::MessageTagProvider(mod), mark(m)
	{
	}

	bool ShouldSendTag(LocalUser *user,
			   const ClientProtocol::MessageTagData &tagdata) CXX11_OVERRIDE
	{
		return mark.get(user) != NULL;
	}
};

class ModuleEircCapture : public Module,
			  public CTCTags::EventListener,
			  public ServerProtocol::BroadcastEventListener
{
	CaptureMark mark;
	ToUidTag touid;
	CTCTags::CapReference tagcap;
	ClientProtocol::EventProvider tagmsgprov;
	/* Closes the pending channels once InspIRCd is done with the
	 * removals (queued on ServerInstance->AtomicActions, run at the end of
	 * the main loop's pass; never queued twice). */
	class CloseAction : public ActionBase
	{
		ModuleEircCapture &mod;

	      public:
		bool queued;

		CloseAction(ModuleEircCapture &m) : mod(m), queued(false)
		{
		}

		void Call() CXX11_OVERRIDE
		{
			queued = false;
			mod.ClosePending();
		}
	};

	/* Local capture bots, in the order they registered. */
	std::vector<LocalUser *> bots;
	bool require;
	/* Channels a member other than a capture bot left since the last
	 * ClosePending (names: a channel may be gone by then). */
	std::set<std::string> pending;
	CloseAction closer;

	bool IsBot(const User *user) const
	{
		return mark.get(user) != NULL;
	}

	/* Someone other than a capture bot is in chan. */
	bool HasMember(const Channel *chan) const
	{
		const Channel::MemberMap &members = chan->GetUsers();
		for (Channel::MemberMap::const_iterator i = members.begin(); i != members.end();
		     ++i)
			if (!IsBot(i->first))
				return true;
		return false;
	}

	/* user (not a capture bot) is leaving chan: check it once InspIRCd is
	 * done. Not once the module is being unloaded (the action would outlive
	 * its code; an unload queued earlier runs after the action). */
	void Leaving(const User *user, const Channel *chan)
	{
		if (IsBot(user) || dying)
			return;
		pending.insert(chan->name);
		if (closer.queued)
			return;
		closer.queued = true;
		ServerInstance->AtomicActions.AddAction(&closer);
	}

	/* Parts the local capture bots from each pending channel that no one
	 * else is in (re-found by name before each PART: the last one may
	 * destroy it). Their PARTs call Leaving, which ignores bots. */
	void ClosePending()
	{
		std::set<std::string> names;
		names.swap(pending);
		for (std::set<std::string>::const_iterator n = names.begin(); n != names.end();
		     ++n) {
			Channel *chan = ServerInstance->FindChan(*n);
			if (!chan || HasMember(chan))
				continue;
			std::vector<LocalUser *> in;
			for (std::vector<LocalUser *>::const_iterator i = bots.begin();
			     i != bots.end(); ++i)
				if (chan->HasUser(*i))
					in.push_back(*i);
			for (std::vector<LocalUser *>::const_iterator i = in.begin(); i != in.end();
			     ++i) {
				std::string reason = EIRC_CAPTURE_CLOSED_REASON;
				if (!(chan = ServerInstance->FindChan(*n)))
					break;
				chan->PartUser(*i, reason);
			}
		}
	}

	/* The first local capture bot that is not away; NULL if none. */
	LocalUser *ArchivingBot() const
	{
		for (std::vector<LocalUser *>::const_iterator i = bots.begin(); i != bots.end();
		     ++i)
			if (!(*i)->IsAway())
				return *i;
		return NULL;
	}

	bool ChannelArchived(const Channel *chan) const
	{
		const Channel::MemberMap &members = chan->GetUsers();
		for (Channel::MemberMap::const_iterator i = members.begin(); i != members.end();
		     ++i)
			if (IsBot(i->first) && !i->first->IsAway())
				return true;
		return false;
	}

	void JoinBot(LocalUser *bot, const std::string &name)
	{
		Channel::JoinUser(bot, name, true);
	}

	/* require="yes": is a message from user to target refused? Says so. */
	ModResult CheckArchived(User *user, const MessageTarget &target)
	{
		if (!require || !IS_LOCAL(user) || IsBot(user))
			return MOD_RES_PASSTHRU;
		std::string name;
		if (target.type == MessageTarget::TYPE_CHANNEL) {
			const Channel *chan = target.Get<Channel>();
			if (ChannelArchived(chan))
				return MOD_RES_PASSTHRU;
			name = target.status ? std::string(1, target.status) + chan->name
					     : chan->name;
		} else if (target.type == MessageTarget::TYPE_USER) {
			const User *to = target.Get<User>();
			if (IsBot(to) || ArchivingBot())
				return MOD_RES_PASSTHRU;
			name = to->nick;
		} else
			return MOD_RES_PASSTHRU;
		user->WriteNumeric(ERR_CANNOTSENDTOCHAN, name,
				   "Cannot send: nothing is archiving it (ARCHIVE_UNAVAILABLE)");
		return MOD_RES_DENY;
	}

	/* The local capture bot members of chan that a message from source with
	 * these exemptions, for members of at least status's rank, did not reach
	 * (the channel send skips exempt members and lower ranks). */
	void MissedBots(const Channel *chan, const User *source, char status,
			const CUList &exemptions, std::vector<LocalUser *> &out)
	{
		unsigned int minrank = 0;
		if (status) {
			PrefixMode *pm = ServerInstance->Modes->FindPrefix(status);
			minrank = pm ? pm->GetPrefixRank() : 0;
		}
		const Channel::MemberMap &members = chan->GetUsers();
		for (Channel::MemberMap::const_iterator i = members.begin(); i != members.end();
		     ++i) {
			LocalUser *bot = IS_LOCAL(i->first);
			if (!bot || bot == source || !IsBot(bot))
				continue;
			if (i->second->getRank() < minrank || exemptions.count(bot))
				out.push_back(bot);
		}
	}

	/* The bot that gets the copy of a direct message from user to target,
	 * or NULL when none is due. */
	LocalUser *DmCopyBot(User *user, const MessageTarget &target)
	{
		if (target.type != MessageTarget::TYPE_USER || !IS_LOCAL(user) || IsBot(user))
			return NULL;
		if (IsBot(target.Get<User>()) || bots.empty())
			return NULL;
		LocalUser *bot = ArchivingBot();
		return bot ? bot : bots.front();
	}

	void AddToUid(ClientProtocol::Message &msg, const User *to)
	{
		AccountExtItem *ids = GetAccountIdExtItem();
		const std::string *id = ids ? ids->get(to) : NULL;
		if (id && !id->empty())
			msg.AddTag("eirc/to-uid", &touid, *id);
	}

      public:
	ModuleEircCapture()
	    : CTCTags::EventListener(this), ServerProtocol::BroadcastEventListener(this),
	      mark(this), touid(this, mark), tagcap(this), tagmsgprov(this, "TAGMSG"),
	      require(false), closer(*this)
	{
	}

	void ReadConfig(ConfigStatus &status) CXX11_OVERRIDE
	{
		require =
			ServerInstance->Config->ConfValue("eirccapture")->getBool("require", false);
	}

	void Prioritize() CXX11_OVERRIDE
	{
		// The mark must be set before m_spanningtree introduces the user
		// to the network (its OnUserConnect sends UID and the metadata).
		ServerInstance->Modules->SetPriority(this, I_OnUserConnect, PRIORITY_FIRST);
	}

	void OnUserConnect(LocalUser *user) CXX11_OVERRIDE
	{
		if (!user->GetClass() || !user->GetClass()->config->getBool("eirccapture"))
			return;
		mark.Mark(user);
		bots.push_back(user);
	}

	void OnPostConnect(User *user) CXX11_OVERRIDE
	{
		LocalUser *bot = IS_LOCAL(user);
		if (!bot || !IsBot(bot) || bot->quitting)
			return;
		std::vector<std::string> names;
		const chan_hash &chans = ServerInstance->GetChans();
		for (chan_hash::const_iterator i = chans.begin(); i != chans.end(); ++i)
			if (HasMember(i->second))
				names.push_back(i->second->name);
		for (std::vector<std::string>::const_iterator i = names.begin(); i != names.end();
		     ++i)
			JoinBot(bot, *i);
	}

	void OnUserDisconnect(LocalUser *user) CXX11_OVERRIDE
	{
		stdalgo::erase(bots, user);
	}

	void OnPostJoin(Membership *memb) CXX11_OVERRIDE
	{
		// Any join (the first makes the channel exist here, wherever it
		// came from) joins the local bots that are not in yet, unless only
		// capture bots are in it: a remote bot's join that crossed the
		// channel's end here must not bring it back (each server would
		// revive it for the other, for ever). A bot's join made here
		// comes back here and finds the others in.
		Channel *chan = memb->chan;
		if (!HasMember(chan))
			return;
		std::vector<LocalUser *> todo;
		for (std::vector<LocalUser *>::const_iterator i = bots.begin(); i != bots.end();
		     ++i)
			if ((*i)->registered == REG_ALL && !(*i)->quitting && !chan->HasUser(*i))
				todo.push_back(*i);
		for (std::vector<LocalUser *>::const_iterator i = todo.begin(); i != todo.end();
		     ++i)
			JoinBot(*i, chan->name);
	}

	void OnUserPart(Membership *memb, std::string &partmessage,
			CUList &except_list) CXX11_OVERRIDE
	{
		Leaving(memb->user, memb->chan);
	}

	void OnUserKick(User *source, Membership *memb, const std::string &reason,
			CUList &except_list) CXX11_OVERRIDE
	{
		Leaving(memb->user, memb->chan);
	}

	void OnUserQuit(User *user, const std::string &message,
			const std::string &oper_message) CXX11_OVERRIDE
	{
		// A netsplit quits each user of the servers gone, one by one.
		for (User::ChanList::iterator i = user->chans.begin(); i != user->chans.end(); ++i)
			Leaving(user, (*i)->chan);
	}

	ModResult OnUserPreKick(User *source, Membership *memb,
				const std::string &reason) CXX11_OVERRIDE
	{
		if (!IsBot(memb->user))
			return MOD_RES_PASSTHRU;
		source->WriteNumeric(ERR_RESTRICTED, memb->chan->name,
				     "You cannot remove " + memb->user->nick +
					     ": it archives this channel (eIRC capture)");
		return MOD_RES_DENY;
	}

	ModResult OnKill(User *source, User *dest, const std::string &reason) CXX11_OVERRIDE
	{
		if (!IsBot(dest))
			return MOD_RES_PASSTHRU;
		source->WriteNumeric(ERR_KILLDENY,
				     "You cannot kill " + dest->nick +
					     ": it archives the network (eIRC capture)");
		return MOD_RES_DENY;
	}

	ModResult OnPreCommand(std::string &command, CommandBase::Params &parameters,
			       LocalUser *user, bool validated) CXX11_OVERRIDE
	{
		if (!validated)
			return MOD_RES_PASSTHRU;
		// A channel's end comes before anything a user does next (a JOIN
		// in the same pass must create the channel anew).
		if (!pending.empty())
			ClosePending();
		if (command == "JOIN" && IsBot(user)) {
			// Into the listed channels that exist and hold someone else;
			// the rest refused without a reply (a bot creates nothing).
			irc::commasepstream items(parameters[0]);
			std::string item;
			while (items.GetToken(item)) {
				Channel *chan = ServerInstance->FindChan(item);
				if (chan && HasMember(chan) && !chan->HasUser(user))
					JoinBot(user, chan->name);
			}
			return MOD_RES_DENY;
		}
		if (command == "PART" && IsBot(user)) {
			user->WriteNumeric(ERR_RESTRICTED, parameters.empty() ? "*" : parameters[0],
					   "A capture bot never parts (eIRC capture)");
			return MOD_RES_DENY;
		}
		// KICK and KILL have their hooks (OnUserPreKick, OnKill); these
		// do not: refused when a nick (or UUID) among their first two
		// parameters (comma lists too: the channel and the nick, in
		// either order; a reason comes after) is a capture bot.
		if (command != "SAKICK" && command != "REMOVE" && command != "FPART" &&
		    command != "SAPART")
			return MOD_RES_PASSTHRU;
		std::string chan = "*";
		for (size_t p = 0; p < parameters.size() && p < 2; p++) {
			irc::commasepstream items(parameters[p]);
			std::string item;
			while (items.GetToken(item)) {
				if (ServerInstance->IsChannel(item)) {
					if (chan == "*")
						chan = item;
					continue;
				}
				User *target = ServerInstance->FindNick(item);
				if (!target || !IsBot(target))
					continue;
				user->WriteNumeric(
					ERR_RESTRICTED, chan,
					"You cannot remove " + target->nick +
						": it archives every channel (eIRC capture)");
				return MOD_RES_DENY;
			}
		}
		return MOD_RES_PASSTHRU;
	}

	ModResult OnUserPreMessage(User *user, const MessageTarget &target,
				   MessageDetails &details) CXX11_OVERRIDE
	{
		return CheckArchived(user, target);
	}

	ModResult OnUserPreTagMessage(User *user, const MessageTarget &target,
				      CTCTags::TagMessageDetails &details) CXX11_OVERRIDE
	{
		return CheckArchived(user, target);
	}

	void OnUserPostMessage(User *user, const MessageTarget &target,
			       const MessageDetails &details) CXX11_OVERRIDE
	{
		if (target.type == MessageTarget::TYPE_CHANNEL) {
			const Channel *chan = target.Get<Channel>();
			std::vector<LocalUser *> missed;
			MissedBots(chan, user, target.status, details.exemptions, missed);
			for (std::vector<LocalUser *>::const_iterator i = missed.begin();
			     i != missed.end(); ++i) {
				ClientProtocol::Messages::Privmsg copy(
					ClientProtocol::Messages::Privmsg::nocopy, user, chan,
					details.text, details.type, target.status);
				copy.AddTags(details.tags_out);
				(*i)->Send(ServerInstance->GetRFCEvents().privmsg, copy);
			}
			return;
		}
		LocalUser *bot = DmCopyBot(user, target);
		if (!bot)
			return;
		const User *to = target.Get<User>();
		ClientProtocol::Messages::Privmsg copy(ClientProtocol::Messages::Privmsg::nocopy,
						       user, to, details.text, details.type);
		copy.AddTags(details.tags_out);
		AddToUid(copy, to);
		bot->Send(ServerInstance->GetRFCEvents().privmsg, copy);
	}

	void OnUserPostTagMessage(User *user, const MessageTarget &target,
				  const CTCTags::TagMessageDetails &details) CXX11_OVERRIDE
	{
		if (target.type == MessageTarget::TYPE_CHANNEL) {
			const Channel *chan = target.Get<Channel>();
			std::vector<LocalUser *> missed;
			MissedBots(chan, user, target.status, details.exemptions, missed);
			for (std::vector<LocalUser *>::const_iterator i = missed.begin();
			     i != missed.end(); ++i) {
				if (!tagcap.get(*i))
					continue;
				CTCTags::TagMessage copy(user, chan, details.tags_out,
							 target.status);
				(*i)->Send(tagmsgprov, copy);
			}
			return;
		}
		LocalUser *bot = DmCopyBot(user, target);
		if (!bot || !tagcap.get(bot))
			return;
		const User *to = target.Get<User>();
		CTCTags::TagMessage copy(user, to, details.tags_out);
		AddToUid(copy, to);
		bot->Send(tagmsgprov, copy);
	}

	ModResult OnBroadcastMessage(Channel *channel, const Server *server) CXX11_OVERRIDE
	{
		// A capture bot on another server: send every channel message
		// there too (see the top of the file).
		return mark.count > bots.size() ? MOD_RES_ALLOW : MOD_RES_PASSTHRU;
	}

	Version GetVersion() CXX11_OVERRIDE
	{
		return Version("eIRC: capture bots (eirc-logger) are in every channel, cannot be "
			       "removed, and get a copy of every message the server delivers only "
			       "to some members and of every direct message",
			       VF_OPTCOMMON);
	}
};

MODULE_INIT(ModuleEircCapture)
