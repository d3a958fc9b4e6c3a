/*
 * m_eirc_account: an InspIRCd 3 module, shipped and loaded by eIRC, that
 * binds every registered client to an eIRC account (contract C3 of issue
 * 25; docs/deploy.md). Config:
 *   <module name="services_account">   (the accountname/accountid extensions)
 *   <module name="eirc_account">
 *   <eircaccount native="refuse|authenticated" dbid="eirc">
 * and for native="authenticated" also m_pgsql, m_argon2 and
 *   <database module="pgsql" id="eirc" host=... port=... name=... user=...
 *             pass=... ssl=...>   (a read-only role: SELECT on users)
 *
 * Who registers:
 *   - a capture bot (a connection that gets a <connect eirccapture="yes">
 *     class, i.e. that sent that class's password): no account;
 *   - a WEBIRC'd connection (the irc-client, WebIRC::EventListener) is
 *     vouched for by the gateway: account id from its USER "u<id>", account
 *     name its nick without a "|<n>" suffix (common/irc_nick.h);
 *   - any other ("native") connection: native="refuse" quits it at
 *     registration; native="authenticated" looks its nick's account up in
 *     eirc-auth's users table (nick_folded, RFC 1459 case mapping) through
 *     the SQL provider, refuses a disabled account or one without a
 *     password, and checks PASS against the stored Argon2id string with the
 *     "hash/argon2id" provider (m_argon2: argon2_verify reads libsodium's
 *     crypto_pwhash_str format). On success the ident becomes "u<id>".
 * Registration is held back (OnCheckReady) until that verdict; a client the
 * module has not admitted cannot get a non-capture connect class
 * (OnSetConnectClass), so no path registers an unbound client.
 *
 * What an admitted client gets: the "accountname" and "accountid"
 * extensions of m_services_account, set before registration completes, so
 * spanningtree sends them with the UID to every server and the stock
 * account tag, account-notify, extended-join and WHOIS show the account; a
 * NICK to anything but the account name or its suffixes |2..|10 is refused.
 *
 * The server tag "eirc/uid=<account id>" goes on every message whose
 * source has an account id, computed on each server from the synced
 * accountid (never relayed), and is sent only to WEBIRC'd users and
 * capture bots that have message-tags; from anyone else it is dropped.
 *
 * Not here: the capture bots' behaviour (m_eirc_capture), choosing a
 * second session's nick (the irc-client does, common/irc_reg).
 *
 * Cost: m_argon2 verifies synchronously on InspIRCd's one thread, once per
 * native registration whose nick names an account with a password.
 *
 * Build: as m_eirc_fastregister.cpp (config/CMakeLists.txt, -fno-rtti).
 */

#include "inspircd.h"
#include "modules/account.h"
#include "modules/ctctags.h"
#include "modules/hash.h"
#include "modules/sql.h"
#include "modules/webirc.h"

namespace
{
// Mirrors common/irc_nick.h: a second session's nick is "<base>|<n>",
// n in 2..NICK_SUFFIX_LAST, the whole cut to NICK_MAX.
const size_t NICK_MAX = 30;
const unsigned NICK_SUFFIX_LAST = 10;
const char NICK_SEP = '|';

const char* const REFUSED = "this server admits only eIRC sessions";
const char* const AUTH_FAILED = "eIRC authentication failed";

// Where a local connection stands (LocalIntExt "eirc_account_state").
enum State
{
	ST_NONE = 0,  // not decided yet
	ST_WEBIRC,    // WEBIRC accepted; bound at registration
	ST_CAPTURE,   // sent a capture class's password
	ST_BUSY,      // native: the database is being asked
	ST_BOUND,     // has its account
	ST_FAILED     // refused: quit at the next check
};

// RFC 1459 case folding, as common/irc_casemap.c and eirc-auth's
// nick_folded (InspIRCd's default national_case_insensitive_map).
std::string Fold(const std::string& s)
{
	std::string out(s);
	for (std::string::iterator i = out.begin(); i != out.end(); ++i)
	{
		const char c = *i;
		if (c >= 'A' && c <= 'Z')
			*i = c - 'A' + 'a';
		else if (c == '[')
			*i = '{';
		else if (c == ']')
			*i = '}';
		else if (c == '\\')
			*i = '|';
		else if (c == '~')
			*i = '^';
	}
	return out;
}

// The account name a nick claims: the nick, or "<base>" of "<base>|<n>"
// with n in 2..NICK_SUFFIX_LAST written without a leading zero. Empty when
// the nick holds the separator any other way (no account name does).
std::string NickBase(const std::string& nick)
{
	const std::string folded = Fold(nick);
	const std::string::size_type sep = folded.find(NICK_SEP);
	if (sep == std::string::npos)
		return nick;
	const std::string digits = folded.substr(sep + 1);
	if (sep == 0 || digits.empty() || digits.size() > 2 || digits[0] == '0' ||
	    digits.find_first_not_of("0123456789") != std::string::npos)
		return "";
	const unsigned n = ConvToNum<unsigned>(digits);
	if (n < 2 || n > NICK_SUFFIX_LAST)
		return "";
	return nick.substr(0, sep);
}

// True when nick is the account's name or one of its suffixed nicks (the
// base cut so the whole fits NICK_MAX, as irc_nick_suffixed does).
bool NickOfAccount(const std::string& account, const std::string& nick)
{
	const std::string want = Fold(account), got = Fold(nick);
	if (got == want)
		return true;
	for (unsigned n = 2; n <= NICK_SUFFIX_LAST; n++)
	{
		const std::string suffix = NICK_SEP + ConvToStr(n);
		if (got == want.substr(0, NICK_MAX - suffix.size()) + suffix)
			return true;
	}
	return false;
}

// "u<id>": a decimal id of 1..19 digits, no leading zero; empty otherwise.
std::string IdentAccountId(const std::string& ident)
{
	if (ident.size() < 2 || ident.size() > 20 || ident[0] != 'u' || ident[1] == '0' ||
	    ident.find_first_not_of("0123456789", 1) != std::string::npos)
		return "";
	return ident.substr(1);
}
}

class ModuleEircAccount;

// The answer for one native registration.
class AccountQuery : public SQL::Query
{
	ModuleEircAccount& mod;
	const std::string uuid;

 public:
	AccountQuery(Module* me, ModuleEircAccount& m, const std::string& u)
		: SQL::Query(me)
		, mod(m)
		, uuid(u)
	{
	}

	void OnResult(SQL::Result& res) CXX11_OVERRIDE;
	void OnError(SQL::Error& error) CXX11_OVERRIDE;
};

// True for a connect class with eirccapture="yes" (contract C1).
static bool IsCaptureClass(ConnectClass* c)
{
	return c && c->config->getBool("eirccapture");
}

// eirc/uid: computed from the source's accountid, sent to WEBIRC'd users
// and capture bots only, never accepted from a client or a server.
class UidTag : public ClientProtocol::MessageTagProvider
{
	LocalIntExt& webirc;
	CTCTags::CapReference ctctagcap;

 public:
	UidTag(Module* mod, LocalIntExt& w)
		: ClientProtocol::MessageTagProvider(mod)
		, webirc(w)
		, ctctagcap(mod)
	{
	}

	ModResult OnProcessTag(User* user, const std::string& tagname, std::string& tagvalue) CXX11_OVERRIDE
	{
		// A client's "+eirc/uid" is another tag (client-only, relayed by
		// m_ircv3_ctctags as such); nothing of eIRC reads it.
		if (irc::equals(tagname, "eirc/uid"))
			return MOD_RES_DENY;
		return MOD_RES_PASSTHRU;
	}

	void OnPopulateTags(ClientProtocol::Message& msg) CXX11_OVERRIDE
	{
		User* const user = msg.GetSourceUser();
		AccountExtItem* const idext = user ? GetAccountIdExtItem() : NULL;
		const std::string* const id = idext ? idext->get(user) : NULL;
		if (id && !id->empty())
			msg.AddTag("eirc/uid", this, *id);
	}

	bool ShouldSendTag(LocalUser* user, const ClientProtocol::MessageTagData& tagdata) CXX11_OVERRIDE
	{
		return ctctagcap.get(user) && (webirc.get(user) || IsCaptureClass(user->MyClass));
	}
};

class ModuleEircAccount : public Module, public WebIRC::EventListener
{
	LocalIntExt state;
	LocalIntExt webirc;
	LocalStringExt claim; // native, while ST_BUSY: the account name asked for
	UidTag uidtag;
	dynamic_reference<SQL::Provider> sql;
	dynamic_reference<HashProvider> argon2id;
	bool authenticated;
	// True while a query is being submitted: a provider may answer at once,
	// and the answer then must not finish a registration under our feet.
	bool submitting;

	void Refuse(LocalUser* user, const std::string& why, const char* reason)
	{
		ServerInstance->Logs->Log(MODNAME, LOG_DEFAULT, "Refused %s (%s): %s", user->GetFullRealHost().c_str(),
					  user->uuid.c_str(), why.c_str());
		state.set(user, ST_FAILED);
		ServerInstance->Users->QuitUser(user, reason);
	}

	// Sets the account on a user not yet registered: spanningtree sends
	// both extensions with its UID (OnUserConnect), and nobody shares a
	// channel with it yet, so there is no account-notify to send.
	bool Bind(LocalUser* user, const std::string& name, const std::string& id)
	{
		AccountExtItem* const nameext = GetAccountExtItem();
		AccountExtItem* const idext = GetAccountIdExtItem();
		if (!nameext || !idext)
		{
			Refuse(user, "m_services_account is not loaded", AUTH_FAILED);
			return false;
		}
		nameext->set(user, name);
		idext->set(user, id);
		state.set(user, ST_BOUND);
		return true;
	}

	// A capture bot is whoever sent the password of a capture class; the
	// connect class check at registration (OnSetConnectClass) makes sure
	// it really gets one.
	bool SentCapturePassword(LocalUser* user)
	{
		if (user->password.empty())
			return false;
		const ServerConfig::ClassVector& classes = ServerInstance->Config->Classes;
		for (ServerConfig::ClassVector::const_iterator i = classes.begin(); i != classes.end(); ++i)
		{
			ConnectClass* const c = *i;
			const std::string pass = c->config->getString("password");
			if (IsCaptureClass(c) && !pass.empty() &&
			    ServerInstance->PassCompare(user, pass, user->password, c->config->getString("hash")))
				return true;
		}
		return false;
	}

	void Ask(LocalUser* user)
	{
		const std::string base = NickBase(user->nick);
		if (base.empty())
			return Refuse(user, "nick " + user->nick + " names no account", AUTH_FAILED);
		if (user->password.empty())
			return Refuse(user, "no PASS", AUTH_FAILED);
		if (!sql || !argon2id)
			return Refuse(user, !sql ? "the account database is not available"
						  : "no hash/argon2id provider (m_argon2)",
				      AUTH_FAILED);
		claim.set(user, base);
		state.set(user, ST_BUSY);
		SQL::ParamMap p;
		p["folded"] = Fold(base);
		submitting = true;
		sql->Submit(new AccountQuery(this, *this, user->uuid),
			    "SELECT id, nick, password_hash, disabled FROM users WHERE nick_folded = '$folded'", p);
		submitting = false;
	}

	// Decides a connection that has sent NICK and USER.
	void Decide(LocalUser* user)
	{
		if (state.get(user) == ST_WEBIRC)
		{
			const std::string id = IdentAccountId(user->ident);
			const std::string name = NickBase(user->nick);
			if (id.empty() || name.empty())
				return Refuse(user, "a WEBIRC session without USER u<id> and an account's nick", REFUSED);
			Bind(user, name, id);
		}
		else if (SentCapturePassword(user))
			state.set(user, ST_CAPTURE);
		else if (!authenticated)
			Refuse(user, "a native client (irc.native_clients: refuse)", REFUSED);
		else
			Ask(user);
	}

 public:
	ModuleEircAccount()
		: WebIRC::EventListener(this)
		, state("eirc_account_state", ExtensionItem::EXT_USER, this)
		, webirc("eirc_account_webirc", ExtensionItem::EXT_USER, this)
		, claim("eirc_account_claim", ExtensionItem::EXT_USER, this)
		, uidtag(this, webirc)
		, sql(this, "SQL")
		, argon2id(this, "hash/argon2id")
		, authenticated(false)
		, submitting(false)
	{
	}

	void ReadConfig(ConfigStatus& status) CXX11_OVERRIDE
	{
		ConfigTag* const tag = ServerInstance->Config->ConfValue("eircaccount");
		const std::string native = tag->getString("native", "refuse");
		if (native != "refuse" && native != "authenticated")
			throw ModuleException("<eircaccount:native> must be refuse or authenticated, not " + native);
		authenticated = native == "authenticated";
		sql.SetProvider("SQL/" + tag->getString("dbid", "eirc", 1));
	}

	void OnWebIRCAuth(LocalUser* user, const WebIRC::FlagMap* flags) CXX11_OVERRIDE
	{
		if (user->registered == REG_ALL || state.get(user) != ST_NONE)
			return;
		state.set(user, ST_WEBIRC);
		webirc.set(user, 1);
	}

	// The core cuts a USER username to <limits:maxident> silently: for a
	// WEBIRC'd session that would be another account's id ("u" and at most
	// maxident - 1 digits fit), so a longer one is refused instead.
	ModResult OnPreCommand(std::string& command, CommandBase::Params& parameters, LocalUser* user,
			       bool validated) CXX11_OVERRIDE
	{
		if (!validated || command != "USER" || parameters.empty() || state.get(user) != ST_WEBIRC ||
		    parameters[0].size() <= ServerInstance->Config->Limits.IdentMax)
			return MOD_RES_PASSTHRU;
		Refuse(user, "USER " + parameters[0] + " is longer than <limits:maxident>", REFUSED);
		return MOD_RES_DENY;
	}

	ModResult OnUserRegister(LocalUser* user) CXX11_OVERRIDE
	{
		const intptr_t st = state.get(user);
		if (st == ST_NONE || st == ST_WEBIRC)
			Decide(user);
		return state.get(user) == ST_FAILED ? MOD_RES_DENY : MOD_RES_PASSTHRU;
	}

	ModResult OnCheckReady(LocalUser* user) CXX11_OVERRIDE
	{
		// Another module may have answered OnUserRegister before us.
		if (state.get(user) == ST_NONE || state.get(user) == ST_WEBIRC)
			Decide(user);
		switch (state.get(user))
		{
			case ST_BOUND:
			case ST_CAPTURE:
				return MOD_RES_PASSTHRU;
			case ST_FAILED:
				if (!user->quitting)
					ServerInstance->Users->QuitUser(user, AUTH_FAILED);
				return MOD_RES_DENY;
			default:
				return MOD_RES_DENY;
		}
	}

	// The last gate: while registering (FullConnect), only a bound user
	// gets a class that is not a capture class, and a capture class still
	// needs its password (checked by the core after us).
	ModResult OnSetConnectClass(LocalUser* user, ConnectClass* myclass) CXX11_OVERRIDE
	{
		if (user->registered != REG_NICKUSER || IsCaptureClass(myclass))
			return MOD_RES_PASSTHRU;
		return state.get(user) == ST_BOUND ? MOD_RES_PASSTHRU : MOD_RES_DENY;
	}

	ModResult OnUserPreNick(LocalUser* user, const std::string& newnick) CXX11_OVERRIDE
	{
		std::string account;
		switch (state.get(user))
		{
			case ST_BUSY:
			{
				std::string* const c = claim.get(user);
				account = c ? *c : "";
				break;
			}
			case ST_BOUND:
			{
				AccountExtItem* const nameext = GetAccountExtItem();
				std::string* const a = nameext ? nameext->get(user) : NULL;
				account = a ? *a : "";
				break;
			}
			default:
				return MOD_RES_PASSTHRU;
		}
		if (NickOfAccount(account, newnick))
			return MOD_RES_PASSTHRU;
		user->WriteNumeric(ERR_ERRONEUSNICKNAME, newnick,
				   "Nick belongs to another account: yours are " + account + " and " + account + "|2.." +
					   account + "|" + ConvToStr(NICK_SUFFIX_LAST));
		return MOD_RES_DENY;
	}

	// The database's answer for a native registration (AccountQuery).
	void Answer(const std::string& uuid, SQL::Result* res, const std::string& error)
	{
		LocalUser* const user = IS_LOCAL(ServerInstance->FindUUID(uuid));
		if (!user || user->quitting || state.get(user) != ST_BUSY)
			return;
		SQL::Row row;
		if (!res)
			Refuse(user, "the account query failed: " + error, AUTH_FAILED);
		else if (!res->GetRow(row) || row.size() != 4)
			Refuse(user, "no account " + *claim.get(user), AUTH_FAILED);
		else if (row[3].IsNull() || std::string(row[3]) != "f")
			Refuse(user, "account " + std::string(row[1]) + " is disabled", AUTH_FAILED);
		else if (row[2].IsNull() || std::string(row[2]).empty())
			Refuse(user, "account " + std::string(row[1]) + " has no password", AUTH_FAILED);
		else if (!argon2id)
			Refuse(user, "no hash/argon2id provider (m_argon2)", AUTH_FAILED);
		else if (!argon2id->Compare(user->password, row[2]))
			Refuse(user, "wrong password for account " + std::string(row[1]), AUTH_FAILED);
		else if (!NickOfAccount(row[1], user->nick) || IdentAccountId("u" + std::string(row[0])).empty())
			Refuse(user, "nick " + user->nick + " is not account " + std::string(row[1]) + "'s",
			       AUTH_FAILED);
		else
		{
			user->ChangeIdent("u" + std::string(row[0]));
			if (!Bind(user, row[1], row[0]))
				return;
			claim.unset(user);
		}
		if (submitting || user->quitting || user->registered != REG_NICKUSER)
			return;
		// As m_eirc_fastregister: no command follows, so finish now
		// rather than on the next once-per-second pass.
		ModResult ready;
		FIRST_MOD_RESULT(OnCheckReady, ready, (user));
		if (ready == MOD_RES_PASSTHRU)
			user->FullConnect();
	}

	Version GetVersion() CXX11_OVERRIDE
	{
		return Version("eIRC: every client is bound to an eIRC account (WEBIRC-vouched, or native with PASS checked "
			       "against eirc-auth's accounts, or refused); sends the eirc/uid tag",
			       VF_NONE);
	}
};

void AccountQuery::OnResult(SQL::Result& res)
{
	mod.Answer(uuid, &res, "");
}

void AccountQuery::OnError(SQL::Error& error)
{
	mod.Answer(uuid, NULL, error.ToString());
}

MODULE_INIT(ModuleEircAccount)
