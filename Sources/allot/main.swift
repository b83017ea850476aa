import Allot
import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A closed pipe on standard output is a write error (EPIPE), reported with a message and exit
// status 1 (docs/reliability.md), rather than a silent death by SIGPIPE (status 141).
signal(SIGPIPE, SIG_IGN)
AllotCommand.main()
