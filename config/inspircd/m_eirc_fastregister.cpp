/*
 * m_eirc_fastregister: an InspIRCd 3 module, shipped and loaded by eIRC,
 * that sends a client's 001 as soon as it is ready instead of up to one
 * second later.
 *
 * Why: stock InspIRCd 3 never completes registration from the command that
 * makes it possible. CommandUser::CheckRegister
 * (src/coremods/core_user/cmd_user.cpp) only moves the client to
 * REG_NICKUSER; LocalUser::FullConnect() (which sends 001) is called from
 * UserManager::DoBackgroundUserStuff -> CheckModulesReady
 * (src/usermanager.cpp), the housekeeping pass that the main loop runs only
 * when the wall-clock second changes (src/inspircd.cpp), and the epoll wait
 * has a fixed 1000 ms timeout (src/socketengines/socketengine_epoll.cpp).
 * Every new connection therefore waits 0-1 s for 001 (1 s on an idle
 * server), which dominates eIRC's session start time.
 *
 * What: after every command from a local client that is in REG_NICKUSER
 * (NICK, USER, CAP END, WEBIRC, PASS, ...), run the very check
 * CheckModulesReady runs -- the first non-passthrough OnCheckReady result
 * of all modules -- and if no module holds the client back, call
 * FullConnect() at once.
 *
 * Why it is safe: the gate is the same OnCheckReady hook, so everything that
 * holds registration back still does: CAP negotiation (m_cap until CAP
 * END), WEBIRC/cgiirc, pending DNS or ident lookups, SASL, any other module.
 * FullConnect() itself still checks bans and connect classes. Clients that
 * are not ready after their last command (e.g. a DNS answer arrives later)
 * are still finished by the stock once-per-second pass, exactly as before;
 * this module only makes the common case earlier, never different.
 *
 * Build (see config/CMakeLists.txt; Debian package inspircd-dev):
 *   g++ -std=c++11 -fPIC -shared -fno-rtti -fvisibility=hidden
 *       -fvisibility-inlines-hidden -DMODNAME=\"m_eirc_fastregister\"
 *       -I/usr/include/inspircd -o m_eirc_fastregister.so
 *       m_eirc_fastregister.cpp
 * Load: copy or link the .so into InspIRCd's module directory and add
 *   <module name="eirc_fastregister">
 * -fno-rtti is required: Debian's InspIRCd is built without RTTI, and a
 * module with RTTI fails to load (undefined symbol _ZTI6Module).
 */

#include "inspircd.h"

class ModuleEircFastRegister : public Module
{
 public:
	void OnPostCommand(Command* command, const CommandBase::Params& parameters, LocalUser* user, CmdResult result, bool loop) CXX11_OVERRIDE
	{
		// Registration commands are never split into a loop; a client that
		// is being disconnected must not be connected.
		if (loop || !user || user->quitting)
			return;
		if (user->registered != REG_NICKUSER)
			return;

		ModResult res;
		FIRST_MOD_RESULT(OnCheckReady, res, (user));
		if (res == MOD_RES_PASSTHRU)
			user->FullConnect();
	}

	Version GetVersion() CXX11_OVERRIDE
	{
		return Version("eIRC: completes client registration as soon as every module is ready, instead of on the next once-per-second pass", VF_NONE);
	}
};

MODULE_INIT(ModuleEircFastRegister)
