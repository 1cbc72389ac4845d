"""Records what damaris4py.server answers to server_<S>_<I>.json in DAMARIS_TEST_RECORD_DIR."""


def main(damaris_data):
    import json
    import os
    from pathlib import Path

    from damaris4py import server as d4p

    server_comm = d4p.getservercomm()
    facts = {
        "isserver": d4p.isserver(),
        "isclient": d4p.isclient(),
        "isdedicatedcore": d4p.isdedicatedcore(),
        "isdedicatednode": d4p.isdedicatednode(),
        "clientspernode": d4p.clientspernode(),
        "corespernode": d4p.corespernode(),
        "serverspernode": d4p.serverspernode(),
        "numberofnodes": d4p.numberofnodes(),
        "listknownclients": d4p.listknownclients(),
        "magicnumber_string": d4p.magicnumber_string(),
        "server_comm": [server_comm.Get_rank(), server_comm.Get_size()],
        "global_comm": [d4p.getglobalcomm().Get_rank(), d4p.getglobalcomm().Get_size()],
        "damaris_comm_size": d4p.getdamariscomm().Get_size(),
        "client_comm_size": None if d4p.getclientcomm() is None else d4p.getclientcomm().Get_size(),
    }
    iteration = damaris_data["iteration_data"]["iteration"]
    folder = Path(os.environ["DAMARIS_TEST_RECORD_DIR"])
    out = folder / f"server_{server_comm.Get_rank()}_{iteration}.json"
    out.write_text(json.dumps(facts))


if __name__ == "__main__":
    main(DamarisData)  # noqa: F821 - given by the server
