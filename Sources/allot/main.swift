import Allot
import ArgumentParser

AllotCommand.main()
