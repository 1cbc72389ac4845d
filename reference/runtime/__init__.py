"""The runtime of one rank: the client API session, clients, servers, transports, the script
runner and the in-process engine.

It builds on the core, the launch room and the Dask bridge; it imports no application and no
mock simulation.
"""
