/// Documents are JSON read and written by `JSONText`; every user of MASHCore gets it with it.
@_exported import JSONText
