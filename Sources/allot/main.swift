import Allot
import AllotZlib
import ArgumentParser

Gunzip.install()
AllotCommand.main()
