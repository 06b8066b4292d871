#if canImport(Glibc)
    import Glibc
#endif

/// `mash-hub --take-terminal`: the hub becomes the terminal's foreground process group, so Ctrl-C reaches
/// the hub alone. Without it, the terminal's SIGINT also reaches `make` and the script that started the hub,
/// and make gives up with "Interrupt" while the hub is still stopping gracefully. The terminal is handed back
/// to the group that had it when the hub exits, however it exits.
enum TerminalForeground {
    nonisolated(unsafe) private static var terminal: Int32 = -1
    nonisolated(unsafe) private static var previous: pid_t = -1

    /// Takes the controlling terminal, if the process has one; returns whether it did.
    static func take() -> Bool {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        let owner = tcgetpgrp(fd)
        guard owner > 0, setpgid(0, 0) == 0 || getpgrp() == getpid() else {
            close(fd)
            return false
        }
        // A background process group may change the foreground only with SIGTTOU ignored.
        signal(SIGTTOU, SIG_IGN)
        guard tcsetpgrp(fd, getpgrp()) == 0 else {
            close(fd)
            return false
        }
        terminal = fd
        previous = owner
        atexit { TerminalForeground.giveBack() }
        return true
    }

    static func giveBack() {
        guard terminal >= 0 else { return }
        _ = tcsetpgrp(terminal, previous)
        close(terminal)
        terminal = -1
    }
}
