"""Prints that it ran, then fails on server 0 at iteration 1 only."""

from damaris4py.server import getservercomm

if __name__ == "__main__":
    server = getservercomm().Get_rank()
    iteration = DamarisData["iteration_data"]["iteration"]  # noqa: F821 - given by the server
    print(f"script ran on server {server} at iteration {iteration}", flush=True)
    if server == 0 and iteration == 1:
        raise RuntimeError("server 0 fails at iteration 1")
