"""The fleet: one run spread over many machines through Redis Streams.

Nothing here is imported by a run that does not ask for ``--fleet``; redis-py
is imported only when a connection is opened (:mod:`.connection`).
"""
